import TMoneyOnline
import Support
import FastCGI
import Foundation
import Payments
import Testing
@testable import Sandbox

/// The shopper on TMoney's page: phone and PIN, the SMS code, the payment, and the way back.
@Suite struct JourneyTests {
    @Test func thePaymentPageShowsTheOrderInItsLanguage() throws {
        let harness = try Harness()
        let french = Harness.text(harness.open().page)
        #expect(french.contains(#"<html lang="fr">"#))
        #expect(french.contains("Boutique Démo"))
        #expect(french.contains("Merci pour votre commande"))
        #expect(french.contains("Panier de 3 articles"))
        #expect(french.contains("15 000 F CFA"))
        #expect(french.contains("Code secret"))
        #expect(french.contains(">Annuler<"))
        let english = Harness.text(harness.open(["language": "en", "brand": "Shop & Co"]).page)
        #expect(english.contains(#"<html lang="en">"#))
        #expect(english.contains("Shop &amp; Co"), "values are escaped")
        #expect(english.contains("PIN"))
        #expect(english.contains(">Cancel<"))
    }

    @Test func aPhoneFromTheMerchantIsLocked() throws {
        let harness = try Harness()
        let (page, key) = harness.open(["phonenumber": "+228 90000001"])
        let html = Harness.text(page)
        #expect(html.contains(#"value="+228 90000001" required readonly"#))
        // Whatever the browser posts, the merchant's number is the one tried.
        let next = harness.login(key, phone: "90000002")
        #expect(Harness.text(next).contains("<strong>90000001</strong>"))
        let open = Harness.text(harness.open(["purchaseref": "CMD-2"]).page)
        #expect(!open.contains("readonly"))
    }

    @Test func wrongPINTwiceThenRightGoesOn() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        let first = Harness.text(harness.login(key, pin: "0000"))
        #expect(first.contains("Il vous reste 2 essais"))
        let second = Harness.text(harness.login(key, pin: "9999"))
        #expect(second.contains("Dernier essai"))
        #expect(harness.account("90000001")?.failedLogins == 2)
        let third = harness.login(key)
        #expect(third.status == .ok)
        #expect(Harness.text(third).contains(#"name="code""#))
        #expect(harness.account("90000001")?.failedLogins == 0, "a right PIN clears the count")
        #expect(harness.account("90000001")?.blocked == false)
        #expect(harness.plans.isEmpty)
    }

    @Test func emptyPhoneOrPINIsAskedAgainWithoutCounting() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        #expect(Harness.text(harness.login(key, pin: "")).contains("Saisissez votre numéro"))
        #expect(harness.sandbox.snapshot().transactions[key]?.failedLogins == 0)
    }

    @Test func theThirdWrongPINBlocksTheAccountAndDeclines() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key, phone: "90000003", pin: "0000")
        _ = harness.login(key, phone: "90000003", pin: "0001")
        let third = harness.login(key, phone: "90000003", pin: "0002")
        #expect(third.status == .seeOther)
        #expect(third.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.account("90000003")?.blocked == true)
        #expect(harness.plans.count == 1)
        let notice = harness.plans[0].parameters
        #expect(notice["status"] == "NOK")
        #expect(notice["error"] == "AUTHENTICATION")
        #expect(notice["cname"] == "", "nobody authenticated: no account is named")

        // Later, even the right PIN fails at once.
        let (_, again) = harness.open(["purchaseref": "CMD-1002"])
        let refused = harness.login(again, phone: "90000003", pin: "1234")
        #expect(refused.status == .seeOther)
        #expect(refused.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.last?.parameters["error"] == "AUTHENTICATION")
        #expect(harness.plans.last?.parameters["purchaseref"] == "CMD-1002")
        #expect(harness.account("90000003")?.balance == 100_000)
    }

    @Test func wrongPINsCountAcrossPaymentsUntilARightOne() throws {
        let harness = try Harness()
        let (_, first) = harness.open()
        _ = harness.login(first, phone: "90000003", pin: "0000")
        _ = harness.login(first, phone: "90000003", pin: "0000")
        _ = harness.step(first, "cancel")
        let (_, second) = harness.open(["purchaseref": "CMD-1002"])
        #expect(harness.login(second, phone: "90000003", pin: "0000").status == .seeOther)
        #expect(harness.account("90000003")?.blocked == true)
    }

    @Test func threeUnknownNumbersEndThePayment() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key, phone: "91111111")
        _ = harness.login(key, phone: "not a phone")
        let third = harness.login(key, phone: "92222222")
        #expect(third.status == .seeOther)
        #expect(harness.plans.map { $0.parameters["error"] } == ["AUTHENTICATION"])
        #expect(harness.sandbox.snapshot().accounts.values.allSatisfy { !$0.blocked })
    }

    @Test func theSMSCodeIsInTheOutboxNeverOnThePage() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        let page = Harness.text(harness.login(key))
        let code = try #require(harness.lastCode)
        #expect(code.range(of: "^[0-9]{6}$", options: .regularExpression) != nil)
        #expect(!page.contains(code))
        #expect(!page.contains("1234"), "nor the PIN")
        let sms = try #require(harness.sandbox.snapshot().outbox.first)
        #expect(sms.phone == "90000001")
        #expect(sms.merchantID == Harness.merchant)
        #expect(sms.purchaseref == "CMD-1001")
        #expect(sms.sentAt == harness.clock.now)
        #expect(sms.text.contains(code))
        let outbox = Harness.text(harness.send("GET", "/sandbox/sms"))
        #expect(outbox.contains(code))
        #expect(outbox.contains("CMD-1001"))
    }

    @Test func theOutboxIsNewestFirst() throws {
        let harness = try Harness()
        let (_, first) = harness.open()
        _ = harness.login(first)
        harness.clock.advance(5)
        let (_, second) = harness.open(["purchaseref": "CMD-1002"])
        _ = harness.login(second, phone: "90000002")
        #expect(harness.sandbox.snapshot().outbox.map(\.purchaseref) == ["CMD-1002", "CMD-1001"])
    }

    @Test func aWrongSMSCodeCancels() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key)
        let wrong = harness.lastCode == "000000" ? "111111" : "000000"
        let response = harness.step(key, "code", [("code", wrong)])
        #expect(response.status == .seeOther)
        #expect(response.header("Location") == "https://shop.test/return/cancel?order=tok")
        let notice = harness.plans.map(\.parameters)
        #expect(notice.count == 1)
        #expect(notice.first?["status"] == "NOK")
        #expect(notice.first?["error"] == "CANCEL")
        #expect(notice.first?["mobile"] == "22890000001", "the shopper had authenticated")
        #expect(harness.account("90000001")?.balance == 5_000_000)
    }

    @Test func anEmptyCodeIsAskedAgain() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key)
        #expect(Harness.text(harness.step(key, "code", [("code", " ")])).contains("Saisissez le code"))
        #expect(harness.plans.isEmpty)
    }

    @Test func cancelAtTheCredentialsStep() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        let response = harness.step(key, "cancel")
        #expect(response.status == .seeOther)
        #expect(response.header("Location") == "https://shop.test/return/cancel?order=tok")
        #expect(harness.plans.map { $0.parameters["error"] } == ["CANCEL"])
        #expect(harness.plans.first?.parameters["clientid"] == "")
    }

    @Test func cancelAtTheCodeStep() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key)
        let response = harness.step(key, "cancel", [("code", "")])
        #expect(response.header("Location") == "https://shop.test/return/cancel?order=tok")
        #expect(harness.plans.map { $0.parameters["error"] } == ["CANCEL"])
        #expect(harness.plans.first?.parameters["clientid"] == "1000000001")
    }

    @Test func aPaidPaymentCannotBeCancelled() throws {
        let harness = try Harness()
        let (_, key) = harness.pay()
        let response = harness.step(key, "cancel")
        #expect(response.status == .ok, "the confirmation page again")
        #expect(harness.plans.count == 1)
        #expect(harness.plans[0].parameters["status"] == "OK")
    }

    @Test func aShortBalanceIsPaymentFailed() throws {
        let harness = try Harness()
        let (_, key) = harness.open(["amount": "501"])
        _ = harness.login(key, phone: "90000002")
        let response = harness.step(key, "code", [("code", harness.lastCode ?? "")])
        #expect(response.status == .seeOther)
        #expect(response.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.map { $0.parameters["error"] } == ["PAYMENT_FAILED"])
        #expect(harness.plans.first?.parameters["cname"] == "Ama Poor")
        #expect(harness.account("90000002")?.balance == 500)
        // Exactly the balance is enough.
        let (page, _) = harness.pay(["amount": "500", "purchaseref": "CMD-1002"], phone: "90000002")
        #expect(page.status == .ok)
        #expect(harness.account("90000002")?.balance == 0)
    }

    @Test func successDebitsConfirmsAndNotifiesOK() throws {
        let harness = try Harness()
        let (page, key) = harness.pay()
        #expect(page.status == .ok)
        let html = Harness.text(page)
        #expect(html.contains(">Confirmer<"))
        #expect(harness.account("90000001")?.balance == 4_985_000)
        let plan = try #require(harness.plans.first)
        #expect(harness.plans.count == 1, "notified when paid, not when the shopper confirms")
        #expect(plan.notification.parameters.map(\.0) == [
            "purchaseref", "amount", "currency", "status", "clientid", "cname", "mobile", "paymentref", "payid", "timestamp", "error",
        ])
        let transaction = try #require(harness.sandbox.snapshot().transactions[key])
        let paymentref = try #require(transaction.outcome?.paymentref)
        #expect(html.contains(paymentref))
        #expect(plan.notification == TMoneyOnline.Notification(
            purchaseref: "CMD-1001", amount: 15000, currency: "952", status: .ok, clientid: "1000000001", cname: "Kofi Mensah",
            mobile: "22890000001", paymentref: paymentref, payid: transaction.payid,
            timestamp: String(harness.clock.now.seconds), error: ""))
        #expect(plan.url == "http://merchant.test/notify?purchaseref=CMD-1001&amount=15000&currency=952&status=OK&clientid=1000000001"
            + "&cname=Kofi+Mensah&mobile=22890000001&paymentref=\(paymentref)&payid=\(transaction.payid)"
            + "&timestamp=\(harness.clock.now.seconds)&error=")
        #expect(try TMoneyOnline.Notification.parse(plan.notification.parameters) == plan.notification, "Cross reads it back")
        // The confirmation SMS.
        #expect(harness.sandbox.snapshot().outbox.first?.text.contains("4 985 000 F CFA") == true)

        let confirmed = harness.step(key, "confirm")
        #expect(confirmed.status == .seeOther)
        #expect(confirmed.header("Location") == "https://shop.test/return/accept?order=tok")
        // A second click answers the same, without a second notification.
        #expect(harness.step(key, "confirm").header("Location") == "https://shop.test/return/accept?order=tok")
        #expect(harness.step(key, "code", [("code", "123456")]).status == .ok)
        #expect(harness.plans.count == 1)
        #expect(harness.account("90000001")?.balance == 4_985_000)
    }

    @Test func balancesPersistAcrossARestart() throws {
        let harness = try Harness()
        _ = harness.pay()
        try harness.restart()
        #expect(harness.account("90000001")?.balance == 4_985_000)
        _ = harness.pay(["purchaseref": "CMD-1002", "amount": "1000"])
        #expect(harness.account("90000001")?.balance == 4_984_000)
    }

    @Test func anOpenPaymentExpiresWithExpiredSession() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        _ = harness.login(key)
        harness.clock.advance(600)
        let response = harness.step(key, "code", [("code", harness.lastCode ?? "")])
        #expect(response.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.map { $0.parameters["error"] } == ["EXPIRED_SESSION"])
        #expect(harness.account("90000001")?.balance == 5_000_000)
    }

    @Test func anAbandonedPaymentIsNotifiedWhenItExpires() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        harness.clock.advance(599)
        #expect(try harness.sandbox.expireAbandonedPayments() == 0)
        harness.clock.advance(1)
        #expect(try harness.sandbox.expireAbandonedPayments() == 1)
        #expect(harness.plans.map { $0.parameters["error"] } == ["EXPIRED_SESSION"])
        #expect(try harness.sandbox.expireAbandonedPayments() == 0, "once")
        #expect(harness.step(key, "login").header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.count == 1)
    }

    @Test func noReturnPageShowsHowThePaymentEnded() throws {
        let harness = try Harness()
        let session = harness.session(merchant: Harness.otherMerchant, remote: "192.0.2.10")
        let (_, key) = harness.open(["merchantid": Harness.otherMerchant, "cancelurl": nil], session: session)
        let page = harness.step(key, "cancel")
        #expect(page.status == .ok)
        #expect(Harness.text(page).contains("Le paiement a été annulé"))
    }

    @Test func unknownPaymentKeyIs404() throws {
        let harness = try Harness()
        let response = harness.step("0123456789abcdef0123456789abcdef", "cancel")
        #expect(response.status == .notFound)
        #expect(Harness.text(response).contains("Paiement introuvable"))
        #expect(harness.plans.isEmpty)
    }

    @Test func aStepWithoutKeyOrActionIs400() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        #expect(harness.send("POST", "/online/payment", form: [("action", "cancel")]).status == .badRequest)
        #expect(harness.send("POST", "/online/payment", form: [("transaction", key)]).status == .badRequest)
        #expect(harness.send("POST", "/online/payment", form: [("transaction", key), ("action", "pay")]).status == .badRequest)
        #expect(harness.send("GET", "/online/payment").status == .methodNotAllowed)
    }

    @Test func aFormFromAnotherStepShowsTheCurrentOne() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        #expect(Harness.text(harness.step(key, "code", [("code", "123456")])).contains(#"name="pin""#))
        _ = harness.login(key)
        #expect(Harness.text(harness.login(key)).contains(#"name="code""#))
        #expect(harness.plans.isEmpty)
    }

    @Test func pagesArePhoneSizedAndWorkWithoutJavaScript() throws {
        let harness = try Harness()
        let html = Harness.text(harness.open().page)
        #expect(html.contains(#"<meta name="viewport" content="width=device-width, initial-scale=1">"#))
        #expect(!html.contains("<script"))
        // Cross's stylesheet (a static file nginx serves), then the sandbox's own rules.
        #expect(html.contains(#"<link rel="stylesheet" href="/style.css">"#))
        #expect(html.contains(#"<link rel="stylesheet" href="/sandbox/style.css">"#))
        let css = harness.send("GET", "/sandbox/style.css")
        #expect(css.status == .ok)
        #expect(css.header("Content-Type") == "text/css; charset=utf-8")
        #expect(Harness.text(css).contains(".merchant"))
    }
}

/// Shoppers at the same time, on the sandbox's worker threads.
@Suite struct ConcurrencyTests {
    @Test func paymentsFromManyThreadsDebitExactlyOnceEach() throws {
        let harness = try Harness()
        let count = 24
        let keys = Lock<[String]>([])
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let (page, key) = harness.open(["purchaseref": "CMD-\(index)", "amount": "1000"])
            #expect(page.status == .ok)
            _ = harness.login(key)
            // Each payment's own code, read from the state rather than the newest SMS.
            guard case .code(_, let code)? = harness.sandbox.snapshot().transactions[key]?.stage else {
                Issue.record("payment \(index) is not at the code step")
                return
            }
            #expect(harness.step(key, "code", [("code", code)]).status == .ok)
            keys.withLock { $0.append(key) }
        }
        #expect(keys.withLock { Set($0).count } == count)
        #expect(harness.account("90000001")?.balance == 5_000_000 - Int64(count) * 1000)
        #expect(harness.plans.count == count)
        #expect(Set(harness.plans.map(\.notification.payid)).count == count)
        try harness.restart()
        #expect(harness.account("90000001")?.balance == 5_000_000 - Int64(count) * 1000, "the last save holds every payment")
    }
}

/// The sandbox reads numbers with Payments' `PhoneNumber`, as Cross does.
@Suite struct PhoneNumberTests {
    @Test func localNumbersFromWhatPeopleType() {
        for text in ["90000001", "90 00 00 01", "+228 90 00 00 01", "22890000001", "0022890000001", "90-00-00-01"] {
            #expect(PhoneNumber(text)?.national == "90000001", "\(text)")
        }
        for text in ["9000000", "900000011", "+33612345678", "", "9000000a", "+22890000001 0"] {
            #expect(PhoneNumber(text) == nil, "\(text)")
        }
        #expect(PhoneNumber("90000001")?.international == "22890000001")
    }
}
