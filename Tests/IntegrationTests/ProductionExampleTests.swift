import Foundation
import Testing
import TestStack

/// nginx/production.conf.example as it is, in front of a real `cross serve`: only what a test cannot do on a real
/// server is changed (ports, the certificate, file paths), so that the example a merchant copies is the one
/// proven here: it loads in Debian's nginx, lets no stranger reach the notification however the path is spelt,
/// limits the button posts, counts an IPv6 client by its /64, and logs no shopper's link or query.
@Suite(.serialized) struct ProductionExampleTests {
    @Test func theProductionExampleGuardsTheNotificationLimitsPostsAndHidesLinks() throws {
        let stack = try Stack(name: "prod-example", sandbox: true)
        defer { stack.stop() }
        let example = try Example(stack: stack)
        defer { example.nginx.stop() }

        // TMoney's addresses alone reach /notify, under every spelling (127.0.0.1 is not TMoney in the example).
        try stack.createOrder("PROD-1")
        let query = String(Stack.notification("PROD-1").dropFirst("/notify".count))
        for path in ["/notify", "/notify/", "/notify;x", "/notify/x"] {
            #expect(try example.get(path + query).status == 403, "\(path)")
        }
        #expect(!stack.cross!.log.contains("/notify"), "no notification reached Cross: \(stack.cross!.log)")
        #expect(try stack.order("PROD-1")?["status"] as? String == "pending")
        // Prometheus' scrape: only from the Prometheus server's address (127.0.0.1 is not it in the example).
        #expect(try example.get("/metrics").status == 403)

        // The button's post: 10 at once pass (to Cross, which refuses their bad signature, or answers only its very
        // path), then 429, under either spelling of the path.
        var statuses: [Int] = []
        for index in 0..<14 {
            statuses.append(try example.post(index.isMultiple(of: 2) ? "/checkout" : "/checkout/", form: "sig=x").status)
        }
        #expect(statuses.prefix(11).allSatisfy { $0 != 429 } && statuses.suffix(3).allSatisfy { $0 == 429 }, "\(statuses)")

        // A shopper's link and a return page's query stay out of the access log.
        let order = try stack.createOrder("PROD-2")
        let token = String((order["checkout_url"] as! String).split(separator: "/").last!)
        let checkout = try example.get("/pay/" + token)
        #expect(checkout.status == 200)
        #expect(try example.get("/return/accept?order=" + token).status == 200)
        let style = try example.get("/style.css")
        #expect(style.status == 200)

        // Cross's page carries Cross's one policy (not a second from nginx, which would also apply); a static
        // file gets nginx's; both are HSTS.
        #expect(checkout.values("content-security-policy").count == 1 && checkout.values("content-security-policy")[0].contains("object-src 'none'"), "\(checkout.headers)")
        #expect(checkout.values("x-content-type-options") == ["nosniff"] && checkout.values("strict-transport-security").count == 1)
        #expect(style.values("content-security-policy").count == 1 && style.values("x-content-type-options") == ["nosniff"], "\(style.headers)")
        #expect(style.values("strict-transport-security").count == 1)
        let accessLog = try String(contentsOfFile: example.accessLog, encoding: .utf8)
        #expect(accessLog.contains("\"GET /pay/*\" 200") && accessLog.contains("\"GET /return/accept\" 200"), "\(accessLog)")
        #expect(!accessLog.contains(token) && !accessLog.contains("?"), "\(accessLog)")

        // The API goes by the path as sent: a purchaseref that nginx's normalisation would make a static page's.
        try stack.createOrder("../../shop/")
        let odd = try example.get("/api/orders/..%2F..%2Fshop%2F", headers: ["Authorization: Bearer " + Stack.apiKey])
        #expect(odd.status == 200 && odd.values("content-type").first?.hasPrefix("application/json") == true, "\(odd.headers)")

        // The rate limits' key: an IPv6 client by its /64, whatever address it picks in it; IPv4 by address.
        for (address, key) in [
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2"), ("2001:db8:1:2::9", "2001:db8:1:2"), ("2001:db8:1::9", "2001:db8:1:0"),
            ("2001:db8::9", "2001:db8:0:0"), ("203.0.113.7", "203.0.113.7"),
        ] {
            #expect(try example.clientKey(address) == key, "\(address)")
        }
    }
}

/// The example's server, made runnable here.
private struct Example {
    let nginx: ManagedProcess
    let httpsPort: UInt16
    let keyPort: UInt16
    let accessLog: String
    let directory: String

    init(stack: Stack) throws {
        directory = stack.runDirectory + "/production"
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
        let openssl = try ManagedProcess(
            name: "openssl", executable: "/usr/bin/openssl",
            arguments: [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pay.example.tg",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
            ],
            logPath: directory + "/logs/openssl.out")
        guard openssl.wait(timeout: 30) == 0 else { throw HTTPClientError(description: "openssl: \(openssl.log)") }
        // `include fastcgi_params` is relative to nginx's prefix: Debian's own file, as /etc/nginx holds it.
        try FileManager.default.copyItem(atPath: "/etc/nginx/fastcgi_params", toPath: directory + "/fastcgi_params")
        httpsPort = try FreePort.allocate()
        let httpPort = try FreePort.allocate()
        keyPort = try FreePort.allocate()
        accessLog = directory + "/logs/access.log"
        let example = try String(contentsOfFile: Stack.root + "/nginx/production.conf.example", encoding: .utf8)
        let replacements: [(String, String)] = [
            ("    listen 80;\n", "    listen 127.0.0.1:\(httpPort);\n"),
            ("    listen [::]:80;\n", ""),
            ("    listen 443 ssl http2;\n", "    listen 127.0.0.1:\(httpsPort) ssl http2;\n"),
            ("    listen [::]:443 ssl http2;\n", ""),
            ("/etc/letsencrypt/live/pay.example.tg/fullchain.pem", directory + "/cert.pem"),
            ("/etc/letsencrypt/live/pay.example.tg/privkey.pem", directory + "/key.pem"),
            ("root /srv/cross/public;", "root \(Stack.root)/public;"),
            ("unix:/run/cross/cross.sock", "unix:" + stack.runDirectory + "/cross.sock"),
            ("/var/log/nginx/cross.access.log", accessLog),
            ("/var/log/nginx/cross.error.log", directory + "/logs/error.log"),
        ]
        var server = example
        for (from, to) in replacements {
            guard server.contains(from) else { throw HTTPClientError(description: "the example no longer holds \(from)") }
            server = server.replacingOccurrences(of: from, with: to)
        }
        // The test's own addition: a server that says which key the rate limits count a given address by.
        let keyServer = """
            server {
                listen 127.0.0.1:\(keyPort);
                set_real_ip_from 127.0.0.1;
                real_ip_header X-Forwarded-For;
                location / { return 200 $cross_client; }
            }
            """
        let user = getuid() == 0 ? "user root root;" : ""
        let configuration = """
            daemon off;
            \(user)
            pid \(directory)/nginx.pid;
            error_log \(directory)/logs/error.log warn;
            events { worker_connections 256; }
            http {
                include /etc/nginx/mime.types;
                client_body_temp_path \(directory)/tmp/client_body;
                fastcgi_temp_path \(directory)/tmp/fastcgi;
                proxy_temp_path \(directory)/tmp/proxy;
                uwsgi_temp_path \(directory)/tmp/uwsgi;
                scgi_temp_path \(directory)/tmp/scgi;
            \(server)
            \(keyServer)
            }
            """
        try configuration.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        nginx = try ManagedProcess(
            name: "nginx-production", executable: "/usr/sbin/nginx",
            arguments: ["-p", directory, "-e", directory + "/logs/error.log", "-c", directory + "/nginx.conf"],
            logPath: directory + "/logs/nginx.out")
        let deadline = Date().addingTimeInterval(10)
        while (try? HTTPClient.get(keyPort, "/", timeout: 1))?.status != 200 {
            guard nginx.isRunning, Date() < deadline else {
                throw HTTPClientError(description: "the example did not start: \(nginx.log)")
            }
            usleep(20_000)
        }
    }

    struct Answer {
        let status: Int
        /// Header lines as received, lowercased names: `name: value`.
        let headers: [String]

        func values(_ name: String) -> [String] {
            headers.compactMap { line in
                line.lowercased().hasPrefix(name + ":") ? String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) : nil
            }
        }
    }

    /// Over TLS, as a browser reaches it (curl: the test's HTTP client speaks plain HTTP only).
    func get(_ target: String, headers: [String] = []) throws -> Answer {
        try curl(headers.flatMap { ["--header", $0] } + ["https://pay.example.tg:\(httpsPort)" + target])
    }

    func post(_ target: String, form: String) throws -> Answer {
        try curl(["--data", form, "https://pay.example.tg:\(httpsPort)" + target])
    }

    func clientKey(_ address: String) throws -> String {
        try HTTPClient.get(keyPort, "/", headers: [("X-Forwarded-For", address)]).text
    }

    private func curl(_ arguments: [String]) throws -> Answer {
        let process = Process()
        let headerFile = directory + "/curl-headers-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: headerFile) }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "--silent", "--insecure", "--path-as-is", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{http_code}",
            "--dump-header", headerFile,
            "--resolve", "pay.example.tg:\(httpsPort):127.0.0.1",
        ] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let status = Int(String(decoding: data, as: UTF8.self)), status > 0 else {
            throw HTTPClientError(description: "curl \(arguments) failed (\(process.terminationStatus))")
        }
        let headers = ((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "")
            .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        return Answer(status: status, headers: headers)
    }
}
