import FastCGI
import Foundation
import Payments
import Testing
@testable import Sandbox

/// The configuration file, the state file, and the sandbox's pages for testers.
@Suite struct ConfigurationAndStateTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theCheckedInConfigurationLoads() throws {
        let configuration = try SandboxConfiguration.load(path: Self.repository + "/config/sandbox.dev.json")
        let merchant = try #require(configuration.merchant("2000000000000001"))
        #expect(merchant.name == "Boutique Démo")
        #expect(merchant.allowedAddresses.allows("127.0.0.1") && merchant.allowedAddresses.allows("::1"))
        #expect(!merchant.allowedAddresses.allows("10.0.0.1"))
        #expect(merchant.notificationURL == "http://127.0.0.1:8080/notify")
        #expect(configuration.sessionLifetimeSeconds == 180)
        #expect(configuration.accounts.map(\.phone) == ["90000001", "90000002", "90000003", "96000001", "96000002", "96000003"])
        #expect(configuration.accounts.map(\.openingBalance) == [5_000_000, 500, 100_000, 5_000_000, 500, 100_000])
        #expect(configuration.account("90000001")?.name == "Kofi Mensah")
    }

    func expectInvalid(_ change: (inout [String: Any]) -> Void, key: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var file = Harness.configuration
        change(&file)
        let data = try JSONSerialization.data(withJSONObject: file)
        let error = #expect(throws: SandboxConfiguration.Invalid.self, sourceLocation: sourceLocation) { try SandboxConfiguration.parse(data) }
        #expect(error?.key == key, "\(error?.description ?? "")", sourceLocation: sourceLocation)
    }

    func merchant(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { file in
            var merchants = file["merchants"] as! [[String: Any]]
            merchants[0][key] = value
            file["merchants"] = merchants
        }
    }

    func account(_ key: String, _ value: Any, at index: Int = 0) -> (inout [String: Any]) -> Void {
        { file in
            var accounts = file["accounts"] as! [[String: Any]]
            accounts[index][key] = value
            file["accounts"] = accounts
        }
    }

    @Test func badValuesAreNamedByTheirKeys() throws {
        try expectInvalid(merchant("merchant_id", "123"), key: "merchants[0].merchant_id")
        try expectInvalid(merchant("merchant_id", Harness.otherMerchant), key: "merchants[1].merchant_id")
        try expectInvalid(merchant("allowed_addresses", []), key: "merchants[0].allowed_addresses")
        try expectInvalid(merchant("allowed_addresses", ["10.0.0.0/33"]), key: "merchants[0].allowed_addresses")
        try expectInvalid(merchant("notification_url", "ftp://merchant.test/notify"), key: "merchants[0].notification_url")
        try expectInvalid(merchant("accept_url", "https://shop.test/" + String(repeating: "a", count: 133)), key: "merchants[0].accept_url")
        try expectInvalid(merchant("scenario", "slow"), key: "merchants[0].scenario")
        try expectInvalid(merchant("name", ""), key: "merchants[0].name")
        try expectInvalid(account("phone", "9000000"), key: "accounts[0].phone")
        try expectInvalid(account("phone", "22890000001"), key: "accounts[0].phone")
        try expectInvalid(account("phone", "90000001", at: 1), key: "accounts[1].phone")
        try expectInvalid(account("pin", "12345"), key: "accounts[0].pin")
        try expectInvalid(account("balance", -1), key: "accounts[0].balance")
        try expectInvalid(account("balance", "5000"), key: "accounts[0].balance")
        try expectInvalid(account("client_id", ""), key: "accounts[0].client_id")
        try expectInvalid({ $0["session_lifetime_seconds"] = 0 }, key: "session_lifetime_seconds")
        try expectInvalid({ $0["notification_timeout_seconds"] = 0 }, key: "notification_timeout_seconds")
        try expectInvalid({ $0["merchants"] = [] }, key: "merchants")
        try expectInvalid({ $0["accounts"] = nil }, key: "accounts")
    }

    @Test func theStateFileIsReplacedWholeAndReadBack() throws {
        let harness = try Harness()
        _ = harness.pay()
        let names = try FileManager.default.contentsOfDirectory(atPath: harness.directory)
        #expect(!names.contains { $0.hasSuffix(".tmp") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.statePath))) as? [String: Any])
        #expect(Set(json.keys) == ["accounts", "sessions", "transactions", "outbox", "mbanking", "flooz"])
        let accounts = try #require(json["accounts"] as? [String: [String: Any]])
        #expect(accounts["90000001"]?["balance"] as? Int == 4_985_000)
        #expect(accounts["90000001"]?["failed_logins"] as? Int == 0)
        #expect(accounts["90000003"]?["blocked"] as? Bool == false)
        let decoded = try JSONDecoder().decode(SandboxState.self, from: Data(contentsOf: URL(fileURLWithPath: harness.statePath)))
        #expect(decoded == harness.sandbox.snapshot())
    }

    @Test func blockedAccountsAndTheOutboxSurviveARestart() throws {
        let harness = try Harness()
        let (_, key) = harness.open()
        for pin in ["0", "1", "2"] { _ = harness.login(key, phone: "90000003", pin: pin) }
        _ = harness.login(harness.open(["purchaseref": "C2"]).key)
        let before = harness.sandbox.snapshot()
        try harness.restart()
        #expect(harness.sandbox.snapshot() == before)
        #expect(harness.account("90000003")?.blocked == true)
        #expect(harness.sandbox.snapshot().outbox.count == 1)
    }

    @Test func resetRestoresOpeningBalancesAndUnblocks() throws {
        let harness = try Harness()
        _ = harness.pay()
        let (_, key) = harness.open(["purchaseref": "C2"])
        for pin in ["0", "1", "2"] { _ = harness.login(key, phone: "90000003", pin: pin) }
        // What `cross sandbox reset` does, then a restart.
        try StateFile(path: harness.statePath).save(SandboxState(harness.sandbox.configuration))
        try harness.restart()
        #expect(harness.account("90000001") == AccountState(balance: 5_000_000))
        #expect(harness.account("90000003") == AccountState(balance: 100_000))
        #expect(harness.sandbox.snapshot().outbox.isEmpty)
        #expect(harness.sandbox.snapshot().transactions.isEmpty)
    }

    @Test func anAccountAddedToTheConfigurationOpensAtItsBalance() throws {
        let harness = try Harness()
        _ = harness.pay()
        var file = Harness.configuration
        var accounts = file["accounts"] as! [[String: Any]]
        accounts.append(["phone": "90000004", "pin": "0000", "name": "Esi New", "client_id": "1000000004", "balance": 2500])
        file["accounts"] = accounts
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: harness.configPath))
        try harness.restart()
        #expect(harness.account("90000004")?.balance == 2500)
        #expect(harness.account("90000001")?.balance == 4_985_000)
    }

    @Test func aDamagedStateFileStopsStartUpWithAWayOut() throws {
        let harness = try Harness()
        try Data("{\"accounts\": ".utf8).write(to: URL(fileURLWithPath: harness.statePath))
        let error = #expect(throws: StateFile.Failure.self) { try harness.restart() }
        #expect(error?.description.contains("cross sandbox reset") == true)
    }

    @Test func aStateThatCannotBeSavedChangesNothing() throws {
        let harness = try Harness()
        // The state file's folder is a plain file: nothing can be written there.
        let blocker = harness.directory + "/blocker"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data()))
        let sandbox = try TMoneySandbox(
            configuration: harness.sandbox.configuration, stateFile: StateFile(path: blocker + "/state.json"),
            words: Harness.pages.strings, dispatcher: harness.recorder, callbacks: harness.callbacks)
        let router = SandboxApp(sandbox: sandbox, pages: Harness.pages).makeRouter()
        let error = #expect(throws: HTTPError.self) {
            try router.respond(to: Request(method: "GET", uri: "/online/online.php?merchantid=" + Harness.merchant))
        }
        #expect(error?.status == .serviceUnavailable)
        #expect(sandbox.snapshot().sessions.isEmpty)
    }

    @Test func theIndexListsAccountsMerchantsAndScenarios() throws {
        let harness = try Harness()
        _ = harness.pay()
        let (_, key) = harness.open(["purchaseref": "C2"])
        for pin in ["0", "1", "2"] { _ = harness.login(key, phone: "90000003", pin: pin) }
        let page = harness.send("GET", "/sandbox")
        #expect(page.status == .ok)
        let html = Harness.text(page)
        #expect(html.contains(#"<html lang="en">"#))
        #expect(html.contains("<td>90000001</td><td>Kofi Mensah</td><td>1000000001</td><td class=\"num\">4 985 000 F CFA</td><td>active</td>"))
        #expect(html.contains("<td>90000003</td><td>Yao Block</td><td>1000000003</td><td class=\"num\">100 000 F CFA</td><td><span class=\"status review\">blocked</span></td>"))
        #expect(html.contains(#"href="/sandbox/sms""#))
        for name in ["delay_ms=N", "twice", "before_return", "drop", "amount_delta=N"] { #expect(html.contains("<code>\(name)</code>")) }
        #expect(html.contains("<code>twice</code></td>"), "the other merchant's scenario")
        #expect(html.contains("authentication_failed"))
        #expect(!html.contains("1234"), "no PIN on the page")
        #expect(!html.contains(">nil<") && !html.contains("\"nil\""))
    }

    @Test func testersPagesAnswerErrorsInEnglishShoppersInFrench() throws {
        let harness = try Harness()
        #expect(Harness.text(harness.send("GET", "/sandbox/nope")).contains(#"<html lang="en">"#))
        let shopper = harness.send("GET", "/online/nope")
        #expect(shopper.status == .notFound)
        #expect(Harness.text(shopper).contains(#"<html lang="fr">"#))
        #expect(harness.send("GET", "/healthz").status == .ok)
    }
}
