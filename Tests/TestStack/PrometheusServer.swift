import Foundation

/// A real Prometheus (Debian's `prometheus` package) for a test: its own configuration and storage in a folder,
/// on a free loopback port, scraping one target every second. Started in about a second; stopped with the test.
public final class PrometheusServer: @unchecked Sendable {
    public static let binary = "/usr/bin/prometheus"
    public let port: UInt16
    public let directory: String
    private let process: ManagedProcess

    /// Scrapes `http://target/metricsPath` as job `job`, with HTTP Basic `credentials`.
    public init(directory: String, job: String, target: String, metricsPath: String = "/metrics", credentials: (user: String, password: String)) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw HTTPClientError(description: "\(Self.binary) is missing: `scripts/ensure-deps prometheus` installs it (make test does)")
        }
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        port = try FreePort.allocate()
        let passwordFile = directory + "/scrape-password"
        _ = FileManager.default.createFile(atPath: passwordFile, contents: Data(credentials.password.utf8), attributes: [.posixPermissions: 0o600])
        let configuration = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: \(job)
                metrics_path: \(metricsPath)
                basic_auth:
                  username: \(credentials.user)
                  password_file: \(passwordFile)
                static_configs:
                  - targets: ["\(target)"]

            """
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        process = try ManagedProcess(
            name: "prometheus", executable: Self.binary,
            arguments: [
                "--config.file=" + directory + "/prometheus.yml", "--storage.tsdb.path=" + directory + "/data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            logPath: directory + "/prometheus.log")
        try waitUntilReady()
    }

    private func waitUntilReady(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else { throw HTTPClientError(description: "prometheus exited: \(process.log)") }
            if (try? HTTPClient.get(port, "/-/ready", timeout: 2))?.status == 200 { return }
            usleep(50_000)
        }
        throw HTTPClientError(description: "prometheus was not ready within \(timeout) s: \(process.log)")
    }

    /// One instant query (`/api/v1/query`): each series' labels and value.
    public func query(_ promql: String) throws -> [(labels: [String: String], value: Double)] {
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = try HTTPClient.get(port, "/api/v1/query?query=" + encoded, timeout: 10)
        guard answer.status == 200, let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
              json["status"] as? String == "success", let data = json["data"] as? [String: Any],
              let results = data["result"] as? [[String: Any]] else {
            throw HTTPClientError(description: "query \(promql) failed: \(answer.status) \(answer.text.prefix(500))")
        }
        return try results.map { series in
            guard let pair = series["value"] as? [Any], pair.count == 2, let text = pair[1] as? String, let value = Double(text) else {
                throw HTTPClientError(description: "query \(promql): a series without a value: \(series)")
            }
            return ((series["metric"] as? [String: String]) ?? [:], value)
        }
    }

    /// The one value of a query that names a single series; nil when it names none.
    public func value(_ promql: String) throws -> Double? {
        let series = try query(promql)
        guard series.count <= 1 else { throw HTTPClientError(description: "query \(promql) names \(series.count) series: \(series)") }
        return series.first?.value
    }

    /// Waits until `job` has been scraped successfully by a scrape that started after `instant`, so that what
    /// happened before it is in Prometheus; throws with the target's last error if none does within `timeout`.
    public func waitForScrape(of job: String, after instant: Date, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // `timestamp(up)` is when the last scrape started; `up` is 1 when it succeeded.
            if let started = try value("timestamp(up{job=\"\(job)\"})"), started > instant.timeIntervalSince1970,
               try value("up{job=\"\(job)\"}") == 1 {
                return
            }
            usleep(100_000)
        }
        throw HTTPClientError(description: "no successful scrape of \(job) after \(instant): \(try targetErrors())")
    }

    private func targetErrors() throws -> String {
        let answer = try HTTPClient.get(port, "/api/v1/targets", timeout: 10)
        return answer.text.prefix(2000) + "\n" + process.log.suffix(2000)
    }

    /// Runs Debian's `promtool` (`check rules FILE`, …): its exit status and what it printed.
    public static func promtool(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let binary = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HTTPClientError(description: "\(binary) is missing: `scripts/ensure-deps prometheus` installs it (make test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    public func stop() { process.stop() }

    deinit { process.stop() }
}
