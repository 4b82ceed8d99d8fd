import Foundation
import Testing
import TestStack

/// The whole shopper journey in a real headless Chromium: Cross's checkout page, TMoney's pages (the sandbox),
/// and back to Cross's return pages, in French. Each test has its own stack, sandbox state and browser.
/// Serialized: one Chromium at a time is plenty on two cores.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ShopperJourneyTests {
    @Test func richAccountPaysAndSeesTheThankYou() throws {
        let shopper = try Shopper("paid")
        defer { shopper.close() }
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            #expect(try shopper.browser.visibleText().contains("15 000 F CFA"))
            try shopper.goToTMoney()
            let page = try shopper.browser.visibleText()
            #expect(page.contains("Boutique Démo"), "the merchant's brand on TMoney's page")
            #expect(page.contains("15 000 F CFA"))
            #expect(page.contains(order.ref))
            let paymentref = try shopper.payWithTheRichAccount(order)
            try shopper.expectThankYou(order, paymentref: paymentref)
            #expect(try shopper.apiOrder(order)["status"] as? String == "paid")
        }
    }

    @Test func threeWrongPINsBlockTheAccountAndARetryFailsAtOnce() throws {
        let shopper = try Shopper("blocked")
        defer { shopper.close() }
        let browser = shopper.browser
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            try shopper.goToTMoney()
            try shopper.signIn(phone: "90000003", pin: "0000")
            try browser.waitForText("Numéro de téléphone ou code secret incorrect. Il vous reste 2 essais.")
            try shopper.signIn(phone: "90000003", pin: "9999")
            try browser.waitForText("Dernier essai : un nouvel échec bloquera votre compte.")
            try shopper.signIn(phone: "90000003", pin: "4321")
            // Back on Cross, automatically: declined, for a failed authentication.
            try browser.waitForURL(startingWith: shopper.returnPage("decline", order))
            let declined = try browser.waitForText("TMoney n'a pas pu vérifier votre identité", timeout: 20)
            #expect(declined.contains("Paiement non effectué"))
            #expect(declined.contains("Refusée"))
            #expect(try shopper.apiOrder(order)["status"] as? String == "declined")
            #expect(try shopper.orderFile(order).text.contains("AUTHENTICATION"))

            // A new attempt with the right PIN: the account is blocked, straight back to the decline page.
            try browser.click(.button("Réessayer le paiement"))
            try browser.waitForURL(startingWith: order.checkoutURL)
            _ = try browser.waitFor(.button("Payer avec TMoney"))
            try shopper.goToTMoney()
            try shopper.signIn(phone: "90000003", pin: "1234")
            try browser.waitForURL(startingWith: shopper.returnPage("decline", order))
            try browser.waitForText("TMoney n'a pas pu vérifier votre identité", timeout: 20)
            #expect(try !shopper.outboxHasCode(for: "90000003"), "a blocked account never gets a one-time code")
            let final = try shopper.apiOrder(order)
            #expect(final["status"] as? String == "declined")
            #expect(final["attempts"] as? Int == 2)
        }
    }

    @Test func wrongSMSCodeCancelsTheOrder() throws {
        let shopper = try Shopper("wrong-code")
        defer { shopper.close() }
        let browser = shopper.browser
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            try shopper.goToTMoney()
            try shopper.signIn(phone: "90000001", pin: "1234")
            let code = try shopper.waitForCodeStep(phone: "90000001", ref: order.ref)
            let wrong = code == "000000" ? "111111" : "000000"
            try shopper.enterCode(wrong)
            try browser.waitForURL(startingWith: shopper.returnPage("cancel", order))
            let page = try browser.waitForText("Vous avez annulé le paiement. Aucun montant n'a été débité.", timeout: 20)
            #expect(page.contains("Paiement non effectué"))
            #expect(page.contains("Annulée"))
            #expect(page.contains("Réessayer le paiement"))
            #expect(try shopper.apiOrder(order)["status"] as? String == "cancelled")
            #expect(try shopper.orderFile(order).json["status"] as? String == "cancelled")
        }
    }

    @Test func cancelOnTMoneyThenARetryThatSucceeds() throws {
        let shopper = try Shopper("cancel-retry")
        defer { shopper.close() }
        let browser = shopper.browser
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            try shopper.goToTMoney()
            try browser.click(.button("Annuler"))
            try browser.waitForURL(startingWith: shopper.returnPage("cancel", order))
            try browser.waitForText("Vous avez annulé le paiement", timeout: 20)
            #expect(try shopper.apiOrder(order)["status"] as? String == "cancelled")

            try browser.click(.button("Réessayer le paiement"))
            try browser.waitForURL(startingWith: order.checkoutURL)
            _ = try browser.waitFor(.button("Payer avec TMoney"))
            try shopper.goToTMoney()
            let paymentref = try shopper.payWithTheRichAccount(order)
            try shopper.expectThankYou(order, paymentref: paymentref)
            #expect(try shopper.apiOrder(order)["attempts"] as? Int == 2)
        }
    }

    @Test func poorAccountIsDeclinedForLackOfBalance() throws {
        let shopper = try Shopper("poor")
        defer { shopper.close() }
        let browser = shopper.browser
        try shopper.journey {
            let order = try shopper.placeOrder(amount: 15000)
            try shopper.openCheckout(order)
            try shopper.goToTMoney()
            try shopper.signIn(phone: "90000002", pin: "1234")
            let code = try shopper.waitForCodeStep(phone: "90000002", ref: order.ref)
            try shopper.enterCode(code)
            try browser.waitForURL(startingWith: shopper.returnPage("decline", order))
            let page = try browser.waitForText("TMoney n'a pas pu effectuer le paiement (solde insuffisant ?).", timeout: 20)
            #expect(page.contains("Paiement non effectué"))
            #expect(page.contains("Refusée"))
            #expect(try shopper.apiOrder(order)["status"] as? String == "declined")
            #expect(try shopper.orderFile(order).text.contains("PAYMENT_FAILED"))
        }
    }

    /// TMoney's notification comes 3 s late: the accept page says it is waiting, then turns into the thank-you
    /// by itself (its meta refresh), with no reload by hand.
    @Test func lateNotificationTurnsTheAcceptPageWithoutAReload() throws {
        let shopper = try Shopper("late")
        defer { shopper.close() }
        let browser = shopper.browser
        try shopper.journey {
            let order = try shopper.placeOrder()
            try shopper.openCheckout(order)
            // The sandbox's per-request switch, as a tester adds it to the order form. (A per-merchant
            // `scenario` in the sandbox's configuration would need Cross's port before the stack starts.)
            try browser.execute("""
                const field = document.createElement('input');
                field.type = 'hidden'; field.name = 'sandbox_scenario'; field.value = arguments[0];
                document.getElementById('pay').appendChild(field);
                """, ["delay_ms=3000"])
            try shopper.goToTMoney()
            let paymentref = try shopper.payWithTheRichAccount(order)
            try browser.waitForURL(startingWith: shopper.returnPage("accept", order))
            let first = try browser.visibleText()
            #expect(first.contains("Paiement en cours de confirmation"), "before the notification: \(first.prefix(300))")
            #expect(first.contains("Cette page se met à jour toute seule."))
            // Nothing but the page's own refresh from here on.
            try browser.waitForText("Paiement reçu, merci", timeout: 20)
            #expect(try browser.currentURL().contains("check="), "the page reloaded itself")
            try shopper.expectThankYou(order, paymentref: paymentref)
        }
    }

    /// The checkout page and TMoney's page at a phone's width and a desktop's, kept as PNG files.
    @Test func screenshotsAtPhoneAndDesktopWidths() throws {
        let shopper = try Shopper("screens")
        defer { shopper.close() }
        let browser = shopper.browser
        let sizes = [(360, 740), (1280, 900)]
        var files: [String] = []
        func capture(_ page: String) throws {
            for (width, height) in sizes {
                try browser.setViewport(width: width, height: height)
                let overflow = (try browser.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;") as? NSNumber)?.intValue ?? -1
                #expect(overflow == 0, "\(page) at \(width) px is wider than the screen by \(overflow) px")
                let path = Shopper.screenshots + "/\(page)-\(width)x\(height).png"
                try browser.saveScreenshot(to: path)
                files.append(path)
            }
        }
        try shopper.journey {
            let order = try shopper.placeOrder(extra: [
                "description": "Sac de riz parfumé 25 kg, livraison à Lomé (Tokoin) incluse",
                "text": "Merci de votre commande chez Boutique Démo",
            ])
            try shopper.openCheckout(order)
            try capture("checkout")
            try shopper.goToTMoney()
            try capture("tmoney-payment")
            // And the page the shopper ends on.
            let paymentref = try shopper.payWithTheRichAccount(order)
            try shopper.expectThankYou(order, paymentref: paymentref)
            try capture("thank-you")
        }
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        #expect(files.count == 6)
        for path in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(Array(bytes.prefix(8)) == signature, "\(path) is a PNG")
            #expect(bytes.count > 5 * 1024, "\(path) is \(bytes.count) bytes")
        }
    }

    /// A wait that fails says where the browser was and what it showed; after `close()`, no chromedriver and no
    /// Chromium of this browser is left running.
    @Test func aFailedWaitNamesThePageAndQuitLeavesNoBrowser() throws {
        let shopper = try Shopper("quit")
        let browser = shopper.browser
        try browser.navigate(to: shopper.stack.base + "/no/such/page")
        do {
            try browser.waitForText("un texte absent", timeout: 1)
            Issue.record("waiting for a text that is not there must fail")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("waited 1.0 s for the text \"un texte absent\""), "\(message)")
            #expect(message.contains("at \(shopper.stack.base)/no/such/page"), "\(message)")
            #expect(message.contains("page: "), "\(message)")
        }
        #expect(!browser.processIDs.isEmpty, "Chromium runs with the test's profile")
        let driver = browser.driver
        shopper.close()
        #expect(!driver.isRunning)
        #expect(browser.processIDs.isEmpty, "no Chromium left: \(browser.processIDs)")
        #expect(!FileManager.default.fileExists(atPath: browser.profileDirectory), "the profile folder is removed")
    }
}
