import Foundation
import OutboundHTTP

/// `cross doctor`: what an operator checks before starting Cross, or at 3 a.m. when it will not serve. Each check
/// gives a verdict and the one fact that explains it; nothing is changed but a probe file created and removed in
/// the data folder.
public enum Doctor {
    public struct Verdict: Sendable, Equatable {
        public enum Level: String, Sendable { case ok, warn, fail }
        public var level: Level
        public var check: String
        public var detail: String

        public init(_ level: Level, _ check: String, _ detail: String) {
            self.level = level
            self.check = check
            self.detail = detail
        }

        /// `ok    data folder      /var/lib/cross: …`
        public var line: String {
            let tag = level == .fail ? "FAIL" : level.rawValue
            return tag.padding(toLength: 6, withPad: " ", startingAt: 0) + check.padding(toLength: 16, withPad: " ", startingAt: 0) + detail
        }
    }

    /// The configuration as `cross serve` would read it (`mode` production unless `--dev`).
    public static func configuration(path: String, mode: RunMode) -> (Verdict, Configuration?) {
        do {
            let configuration = try Configuration.load(path: path, mode: mode)
            return (Verdict(.ok, "configuration", "\(path) (\(mode == .production ? "production" : "development"))"), configuration)
        } catch {
            return (Verdict(.fail, "configuration", "\(path): \(error)"), nil)
        }
    }

    /// The data folder: there, a folder, Cross's alone (no access for others, not writable by its group),
    /// writable and synced, with room above the reserve.
    public static func dataFolder(_ path: String, reserveBytes: Int64, minimumFree: Int64 = 1 << 30) -> [Verdict] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return [Verdict(.fail, "data folder", "\(path): \(String(cString: strerror(errno))) (cross serve makes it at its first start if its parent is writable)")]
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { return [Verdict(.fail, "data folder", "\(path) is not a folder")] }
        var verdicts: [Verdict] = []
        let mode = info.st_mode & 0o777
        let octal = String(mode, radix: 8)
        if info.st_uid != getuid() {
            verdicts.append(Verdict(.fail, "data folder", "\(path) belongs to uid \(info.st_uid), not to this user (uid \(getuid())): run doctor as the user Cross runs as"))
        } else if mode & 0o007 != 0 || mode & 0o020 != 0 {
            verdicts.append(Verdict(.fail, "data folder", "\(path) has mode \(octal): others (or its group, for writing) can reach the orders; chmod 700 \(path)"))
        } else {
            verdicts.append(Verdict(.ok, "data folder", "\(path), mode \(octal), owned by uid \(info.st_uid)"))
        }
        let probe = path + "/.doctor-probe.\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            verdicts.append(Verdict(.fail, "writable", "cannot create a file in \(path): \(String(cString: strerror(errno)))"))
        } else {
            let written = write(fd, "probe\n", 6) == 6 && fsync(fd) == 0
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(probe)
            verdicts.append(written ? Verdict(.ok, "writable", "a file written and synced") : Verdict(.fail, "writable", "cannot write and sync in \(path): \(reason)"))
        }
        var disk = statvfs()
        if statvfs(path, &disk) == 0 {
            let free = Int64(disk.f_bavail) * Int64(disk.f_frsize)
            let total = Int64(disk.f_blocks) * Int64(disk.f_frsize)
            let text = "\(megabytes(free)) MB free of \(megabytes(total)) MB (reserve \(megabytes(reserveBytes)) MB)"
            if free < reserveBytes {
                verdicts.append(Verdict(.fail, "free space", text + ": new orders are refused (503) until space is freed"))
            } else if free < max(2 * reserveBytes, minimumFree) {
                verdicts.append(Verdict(.warn, "free space", text + ": little room left"))
            } else {
                verdicts.append(Verdict(.ok, "free space", text))
            }
        }
        return verdicts
    }

    private static func megabytes(_ bytes: Int64) -> Int64 { bytes / (1 << 20) }

    /// The socket nginx speaks FastCGI to: a unix socket path or `127.0.0.1:PORT`. A connection accepted means a
    /// Cross (or something) listens there.
    public static func socket(_ address: String) -> Verdict {
        if address.hasPrefix("/") {
            var info = stat()
            guard stat(address, &info) == 0 else {
                return Verdict(.fail, "nginx socket", "\(address): \(String(cString: strerror(errno))); is cross serve running with --listen \(address)?")
            }
            guard info.st_mode & S_IFMT == S_IFSOCK else { return Verdict(.fail, "nginx socket", "\(address) is not a socket") }
            let mode = String(info.st_mode & 0o777, radix: 8)
            if info.st_mode & 0o007 != 0 {
                return Verdict(.fail, "nginx socket", "\(address) has mode \(mode): every user of this machine may speak FastCGI to Cross")
            }
            let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var peer = sockaddr_un()
            peer.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(address.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: peer.sun_path) else { return Verdict(.fail, "nginx socket", "\(address): path too long") }
            withUnsafeMutableBytes(of: &peer.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            let connected = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else {
                return Verdict(.fail, "nginx socket", "\(address): \(String(cString: strerror(errno))); nothing accepts there (a socket left by a Cross that is gone?)")
            }
            return Verdict(.ok, "nginx socket", "\(address), mode \(mode), accepting")
        }
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            return Verdict(.fail, "nginx socket", "\(address) is neither a socket path nor HOST:PORT")
        }
        let fd = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        guard inet_pton(AF_INET, String(parts[0]), &peer.sin_addr) == 1 else {
            return Verdict(.fail, "nginx socket", "\(parts[0]) is not an IPv4 address")
        }
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return Verdict(.fail, "nginx socket", "\(address): \(String(cString: strerror(errno)))") }
        return Verdict(.ok, "nginx socket", "\(address), accepting")
    }

    /// The operators' servers the configuration names, each asked once (any HTTP answer will do: it shows the
    /// name resolves, the port answers and, for https, that the certificate is valid for the name).
    public static func gateways(_ configuration: Configuration, timeoutSeconds: Double = 5) -> [Verdict] {
        var named: [(String, String)] = [("TMoney Online", configuration.gatewayURL)]
        if let mbanking = configuration.mbanking { named.append(("MBANKING", mbanking.loginURL)) }
        if let flooz = configuration.flooz { named.append(("Flooz", flooz.tokenURL)) }
        let client = OutboundHTTP(timeoutSeconds: timeoutSeconds, maxBodyBytes: 64 * 1024)
        var seen = Set<String>()
        var verdicts: [Verdict] = []
        for (name, url) in named {
            guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host else {
                verdicts.append(Verdict(.fail, name, "\(url) is not a URL"))
                continue
            }
            let origin = "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? "")
            guard seen.insert(origin).inserted else { continue }
            switch client.send("GET", origin + "/") {
            case .success(let answer):
                let tls = scheme == "https" ? "TLS certificate valid" : "plain http (development only)"
                verdicts.append(Verdict(scheme == "https" || configuration.mode == .development ? .ok : .warn, name, "\(origin): HTTP \(answer.status), \(tls)"))
            case .failure(let failure):
                verdicts.append(Verdict(.fail, name, "\(origin): \(failure)"))
            }
        }
        return verdicts
    }
}
