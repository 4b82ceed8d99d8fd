import Foundation

public struct WebDriverError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A real headless Chromium for a test, driven through W3C WebDriver (JSON over HTTP) by a `chromedriver` of
/// its own on a free port. Small on purpose: navigate, find, click, type, read, run a script, take a
/// screenshot, size the window, and wait (polling) for an element, a text or an address.
///
/// Every error names the page the browser was on and the start of its text. `quit()` (also run on deinit)
/// deletes the session, stops chromedriver, kills whatever Chromium process is still using this browser's
/// profile folder, so that no browser outlives its test, and removes that folder.
public final class Browser: @unchecked Sendable {
    public static let chromium = "/usr/bin/chromium"
    public static let chromedriver = "/usr/bin/chromedriver"

    /// An element the browser found: its WebDriver reference and how it was found (for error messages).
    public struct Element: Sendable {
        public let id: String
        public let locator: Locator
    }

    public enum Locator: Sendable, CustomStringConvertible {
        case css(String)
        case xpath(String)

        /// A button (or a link styled as one) whose visible text is exactly `text`, spaces normalized.
        public static func button(_ text: String) -> Locator {
            let literal = xpathLiteral(text)
            return .xpath("//button[normalize-space(.)=\(literal)] | //input[@type='submit' and @value=\(literal)] | //a[normalize-space(.)=\(literal)]")
        }

        var strategy: String {
            switch self {
            case .css: "css selector"
            case .xpath: "xpath"
            }
        }

        var value: String {
            switch self {
            case .css(let value), .xpath(let value): value
            }
        }

        public var description: String {
            switch self {
            case .css(let value): "css \(value)"
            case .xpath(let value): "xpath \(value)"
            }
        }

        /// `text` as an XPath 1.0 string literal, whatever quotes it holds.
        static func xpathLiteral(_ text: String) -> String {
            if !text.contains("'") { return "'\(text)'" }
            if !text.contains("\"") { return "\"\(text)\"" }
            return "concat('" + text.replacingOccurrences(of: "'", with: "', \"'\", '") + "')"
        }
    }

    public let port: UInt16
    public let directory: String
    public let profileDirectory: String
    public let driver: ManagedProcess
    public private(set) var sessionID: String = ""
    /// How long one WebDriver command may take (a click that loads a page included).
    public var commandTimeout: Double = 45
    private let lock = NSLock()
    private var ended = false

    /// Both programs, or a message saying which is missing and how to get it.
    public static func checkPrograms() throws {
        let missing = [chromium, chromedriver].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else {
            throw WebDriverError(
                "the browser tests need \(missing.joined(separator: " and ")): install Debian's chromium and chromium-driver "
                    + "packages (scripts/ensure-deps chromium chromium-driver, as `make test` does)")
        }
    }

    /// Starts chromedriver (its log and Chromium's profile in `directory`) and a headless Chromium session
    /// whose window is `width` × `height`.
    public init(directory: String, width: Int = 1280, height: Int = 900) throws {
        try Self.checkPrograms()
        self.directory = directory
        profileDirectory = directory + "/chromium-profile"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        (port, driver) = try Self.startDriver(directory: directory)
        do {
            let capabilities: [String: Any] = [
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": [
                    "binary": Self.chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--window-size=\(width),\(height)", "--user-data-dir=\(profileDirectory)",
                        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                        "--disable-background-networking", "--disable-sync", "--disable-component-update",
                        "--password-store=basic", "--hide-scrollbars",
                    ],
                ] as [String: Any],
            ]
            let session = try command("POST", "/session", ["capabilities": ["alwaysMatch": capabilities]], timeout: 60)
            guard let id = (session as? [String: Any])?["sessionId"] as? String else {
                throw WebDriverError("chromedriver answered no session id: \(session)")
            }
            sessionID = id
            try command("POST", "/session/\(id)/timeouts", ["pageLoad": 30_000, "script": 15_000, "implicit": 0])
        } catch {
            quit()
            throw WebDriverError("no browser session: \(error); chromedriver log: \(driver.log.suffix(2000))")
        }
    }

    /// chromedriver on a free port; a port may be taken between the kernel's answer and chromedriver's bind,
    /// so a few tries.
    private static func startDriver(directory: String) throws -> (UInt16, ManagedProcess) {
        var log = ""
        for attempt in 1...3 {
            let port = try FreePort.allocate()
            let driver = try ManagedProcess(
                name: "chromedriver", executable: chromedriver, arguments: ["--port=\(port)"],
                logPath: directory + "/chromedriver-\(attempt).log")
            if waitForDriver(driver, port: port, timeout: 20) { return (port, driver) }
            driver.stop(grace: 2)
            log = driver.log
        }
        throw WebDriverError("chromedriver did not start on a free port in 3 attempts; its log: \(log.suffix(2000))")
    }

    private static func waitForDriver(_ driver: ManagedProcess, port: UInt16, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard driver.isRunning else { return false }
            let request = "GET /status HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
            if let answer = try? exchange(port: port, Array(request.utf8), timeout: 2), answer.status == 200 {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    deinit { quit() }

    /// Ends the session and every process of this browser. Safe to call more than once.
    public func quit() {
        let first = lock.withLock { () -> Bool in
            defer { ended = true }
            return !ended
        }
        guard first else { return }
        if !sessionID.isEmpty { _ = try? command("DELETE", "/session/\(sessionID)", timeout: 10) }
        // chromedriver's own way out. A SIGTERM would wait: a child started from a test's thread inherits that
        // thread's signal mask, where SIGTERM is blocked, and chromedriver does not unblock it.
        _ = try? command("GET", "/shutdown", timeout: 3)
        if driver.wait(timeout: 3) == nil {
            driver.signal(SIGKILL)
            driver.wait(timeout: 5)
        }
        killLeftovers()
        // A few megabytes per browser; the logs beside it stay.
        try? FileManager.default.removeItem(atPath: profileDirectory)
    }

    /// Chromium processes still running with this browser's profile folder (none after a clean quit) get SIGKILL.
    private func killLeftovers() {
        let marker = "--user-data-dir=" + profileDirectory
        for _ in 0..<3 {
            var found = false
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), pid != getpid(),
                      let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
                let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if arguments.contains(marker) {
                    kill(pid, SIGKILL)
                    found = true
                }
            }
            guard found else { return }
            usleep(100_000)
        }
    }

    /// PIDs of processes using this browser's profile (for a test that checks the cleanup).
    public var processIDs: [Int32] {
        let marker = "--user-data-dir=" + profileDirectory
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  data.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == marker }) else { return nil }
            // A zombie (killed, not yet reaped by init) uses nothing.
            let status = (try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)) ?? ""
            return status.contains("State:\tZ") ? nil : pid
        }
    }

    // MARK: The wire

    /// One WebDriver command; its `value`. A WebDriver error becomes a `WebDriverError` naming the command.
    @discardableResult
    public func command(_ method: String, _ path: String, _ body: [String: Any]? = nil, timeout: Double? = nil) throws -> Any {
        var payload: [UInt8] = []
        if let body {
            payload = Array(try JSONSerialization.data(withJSONObject: body))
        } else if method == "POST" {
            payload = Array("{}".utf8)
        }
        // chromedriver refuses HTTP/1.0; HTTP/1.1 with Connection: close lets the client read to the end.
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if method != "GET" && method != "DELETE" || !payload.isEmpty {
            head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(payload.count)\r\n"
        }
        head += "\r\n"
        let result: HTTPResult
        do {
            result = try Self.exchange(port: port, Array(head.utf8) + payload, timeout: timeout ?? commandTimeout)
        } catch {
            throw WebDriverError("\(method) \(path): \(error) (chromedriver running: \(driver.isRunning))")
        }
        let json = try? JSONSerialization.jsonObject(with: Data(result.body), options: [.fragmentsAllowed])
        let value = (json as? [String: Any])?["value"]
        guard result.status == 200 else {
            let details = value as? [String: Any]
            let error = details?["error"] as? String ?? "HTTP \(result.status)"
            let message = (details?["message"] as? String ?? result.text).split(separator: "\n").first.map(String.init) ?? ""
            throw WebDriverError("\(method) \(path): \(error): \(message)")
        }
        return value ?? NSNull()
    }

    /// Sends a request and reads one response. chromedriver answers `Connection: close` but leaves the
    /// connection open, so the body is read to its Content-Length, not to the end of the stream.
    private static func exchange(port: UInt16, _ request: [UInt8], timeout: Double) throws -> HTTPResult {
        let fd = try HTTPClient.connect(port: port, timeout: timeout)
        defer { close(fd) }
        try HTTPClient.sendAll(fd, request)
        let separator: [UInt8] = [13, 10, 13, 10]
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var expected: Int?
        while true {
            if expected == nil, let end = received.firstRange(of: separator) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
                expected = end.upperBound + (length ?? 0)
                if length == nil && !head.hasPrefix("http/1.1 204") { expected = Int.max }
            }
            if let expected, received.count >= expected { break }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw WebDriverError("no complete answer from chromedriver within \(timeout) s (\(received.count) bytes: \(String(decoding: received.prefix(200), as: UTF8.self)))")
            }
            received.append(contentsOf: buffer[0..<count])
        }
        return try HTTPClient.parse(received)
    }

    private var session: String { "/session/\(sessionID)" }

    // MARK: Pages

    public func navigate(to url: String) throws {
        do {
            try command("POST", session + "/url", ["url": url])
        } catch {
            throw WebDriverError("cannot open \(url): \(error)\(context())")
        }
    }

    public func currentURL() throws -> String {
        try command("GET", session + "/url") as? String ?? ""
    }

    public func title() throws -> String {
        try command("GET", session + "/title") as? String ?? ""
    }

    public func pageSource() throws -> String {
        try command("GET", session + "/source") as? String ?? ""
    }

    /// What a reader sees of the page (`document.body.innerText`), no-break spaces made plain.
    public func visibleText() throws -> String {
        let text = try execute("return document.body ? document.body.innerText : '';") as? String ?? ""
        return Self.plainSpaces(text)
    }

    /// Runs `script` as a function body (`return …` for a value) with `arguments`.
    @discardableResult
    public func execute(_ script: String, _ arguments: [Any] = []) throws -> Any {
        try command("POST", session + "/execute/sync", ["script": script, "args": arguments])
    }

    // MARK: Elements

    public func find(_ locator: Locator) throws -> Element {
        let value: Any
        do {
            value = try command("POST", session + "/element", ["using": locator.strategy, "value": locator.value])
        } catch {
            throw WebDriverError("no element for \(locator): \(error)\(context())")
        }
        guard let reference = Self.elementID(value) else { throw WebDriverError("no element reference in \(value)") }
        return Element(id: reference, locator: locator)
    }

    public func findAll(_ locator: Locator) throws -> [Element] {
        let value = try command("POST", session + "/elements", ["using": locator.strategy, "value": locator.value])
        return (value as? [Any] ?? []).compactMap(Self.elementID).map { Element(id: $0, locator: locator) }
    }

    private static func elementID(_ value: Any) -> String? {
        (value as? [String: Any])?["element-6066-11e4-a52e-4f735466cecf"] as? String
    }

    /// Clicks the element (scrolled into view); a click that submits a form returns once the next page has loaded.
    public func click(_ element: Element) throws {
        do {
            try command("POST", session + "/element/\(element.id)/click")
        } catch {
            throw WebDriverError("cannot click \(element.locator): \(error)\(context())")
        }
    }

    /// Waits for the element, then clicks it.
    public func click(_ locator: Locator, timeout: Double = 10) throws {
        try click(waitFor(locator, timeout: timeout))
    }

    /// Empties a field, then types `text` into it as keystrokes.
    public func type(_ text: String, into element: Element) throws {
        do {
            try command("POST", session + "/element/\(element.id)/clear")
            try command("POST", session + "/element/\(element.id)/value", ["text": text])
        } catch {
            throw WebDriverError("cannot type into \(element.locator): \(error)\(context())")
        }
    }

    public func type(_ text: String, into locator: Locator, timeout: Double = 10) throws {
        try type(text, into: waitFor(locator, timeout: timeout))
    }

    public func text(of element: Element) throws -> String {
        Self.plainSpaces(try command("GET", session + "/element/\(element.id)/text") as? String ?? "")
    }

    /// The element's DOM property (`value` of an input, for one).
    public func property(_ name: String, of element: Element) throws -> Any {
        try command("GET", session + "/element/\(element.id)/property/\(name)")
    }

    // MARK: Waiting

    /// Polls until `condition` returns a value (errors while the page changes count as "not yet").
    public func wait<T>(for what: String, timeout: Double = 10, interval: Double = 0.1, _ condition: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while true {
            do {
                if let value = try condition() { return value }
                lastError = nil
            } catch {
                lastError = error
            }
            if Date() >= deadline { break }
            usleep(UInt32(interval * 1_000_000))
        }
        let cause = lastError.map { "; last error: \($0)" } ?? ""
        throw WebDriverError("waited \(timeout) s for \(what)\(cause)\(context())")
    }

    public func waitFor(_ locator: Locator, timeout: Double = 10) throws -> Element {
        try wait(for: "an element (\(locator))", timeout: timeout) { try findAll(locator).first }
    }

    /// Waits until the page's visible text contains `text`; returns that text.
    @discardableResult
    public func waitForText(_ text: String, timeout: Double = 10) throws -> String {
        let wanted = Self.plainSpaces(text)
        return try wait(for: "the text \"\(text)\"", timeout: timeout) {
            let page = try visibleText()
            return page.contains(wanted) ? page : nil
        }
    }

    /// Waits until the address starts with `prefix`; returns the address.
    @discardableResult
    public func waitForURL(startingWith prefix: String, timeout: Double = 10) throws -> String {
        try wait(for: "an address starting with \(prefix)", timeout: timeout) {
            let url = try currentURL()
            return url.hasPrefix(prefix) ? url : nil
        }
    }

    /// Where the browser is and the start of what it shows, for an error message. Never throws.
    public func context(excerpt: Int = 600) -> String {
        let url = (try? command("GET", session + "/url", timeout: 5)) as? String ?? "(unknown)"
        let text = ((try? command("POST", session + "/execute/sync", ["script": "return document.body ? document.body.innerText : '';", "args": []], timeout: 5)) as? String)
            .map { Self.plainSpaces($0) } ?? "(no text)"
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " | ")
        return "\n  at \(url)\n  page: \(flat.prefix(excerpt))\(flat.count > excerpt ? "…" : "")"
    }

    static func plainSpaces(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{00A0}", with: " ").replacingOccurrences(of: "\u{202F}", with: " ")
    }

    // MARK: Window and screenshots

    public func setWindowSize(width: Int, height: Int) throws {
        try command("POST", session + "/window/rect", ["width": width, "height": height])
    }

    /// The page's viewport in CSS pixels (`innerWidth` × `innerHeight`).
    public func viewport() throws -> (width: Int, height: Int) {
        let size = try execute("return [window.innerWidth, window.innerHeight];") as? [Any] ?? []
        guard size.count == 2, let width = (size[0] as? NSNumber)?.intValue, let height = (size[1] as? NSNumber)?.intValue else {
            throw WebDriverError("no viewport size in \(size)")
        }
        return (width, height)
    }

    /// Sizes the window so that the viewport is `width` × `height` CSS pixels (a window may have borders).
    public func setViewport(width: Int, height: Int) throws {
        try setWindowSize(width: width, height: height)
        let inner = try viewport()
        if inner.width != width || inner.height != height {
            try setWindowSize(width: 2 * width - inner.width, height: 2 * height - inner.height)
        }
        let final = try viewport()
        guard final.width == width else {
            throw WebDriverError("the viewport is \(final.width)×\(final.height), not \(width)×\(height)")
        }
    }

    /// A PNG of the viewport.
    public func screenshot() throws -> Data {
        guard let base64 = try command("GET", session + "/screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw WebDriverError("the screenshot is not base64\(context())")
        }
        return data
    }

    /// Saves a PNG of the viewport at `path` (its folder made if needed); returns its bytes.
    @discardableResult
    public func saveScreenshot(to path: String) throws -> Data {
        let data = try screenshot()
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
        return data
    }
}
