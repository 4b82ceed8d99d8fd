import Foundation

/// Where the responder listens. Never "every interface": FastCGI has no authentication, so it listens on a unix
/// socket, on an explicit address (normally loopback), or on the socket `spawn-fcgi` leaves on file descriptor 0.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    case inherited

    /// `unix:/run/cross.sock`, `/run/cross.sock`, `run/cross.sock`, `127.0.0.1:9000`, `[::1]:9000`, or `fd:0`.
    public init(parsing text: String) throws(ListenError) {
        if text == "fd:0" || text == "inherit" {
            self = .inherited
        } else if text.hasPrefix("unix:") {
            self = .unix(path: String(text.dropFirst(5)))
        } else if text.contains("/") {
            self = .unix(path: text)
        } else if let colon = text.lastIndex(of: ":") {
            var host = String(text[..<colon])
            let portText = text[text.index(after: colon)...]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else {
                throw ListenError("cannot listen on \"\(text)\": it names no host; give one, such as 127.0.0.1:\(portText), so that FastCGI is not open on every interface")
            }
            guard let port = UInt16(portText), port > 0 else {
                throw ListenError("cannot listen on \"\(text)\": the port must be 1 to 65535")
            }
            self = .tcp(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        } else {
            throw ListenError("cannot listen on \"\(text)\": give a unix socket path, a host:port, or fd:0")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .inherited: "fd:0"
        }
    }
}

public struct ListenError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The bound listening socket. Binding is done here rather than by `FCGX_OpenSocket`, which binds every
/// interface for `:PORT` and calls `exit()` on failure instead of reporting it.
struct ListenSocket: Sendable {
    let fd: Int32
    let address: ListenAddress

    static func open(_ address: ListenAddress, backlog: Int32 = 1024, unixMode: mode_t = 0o660) throws(ListenError) -> ListenSocket {
        switch address {
        case .inherited:
            var type: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue) else {
                throw ListenError("file descriptor 0 is not a listening socket (start cross with spawn-fcgi, or give --listen)")
            }
            return ListenSocket(fd: 0, address: address)
        case .unix(let path):
            return try openUnix(path: path, backlog: backlog, mode: unixMode)
        case .tcp(let host, let port):
            return try openTCP(host: host, port: port, backlog: backlog)
        }
    }

    private static func openUnix(path: String, backlog: Int32, mode: mode_t) throws(ListenError) -> ListenSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw ListenError("cannot listen on \(path): a unix socket path is limited to \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        try removeStaleSocket(at: path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ListenError("cannot create a socket: \(String(cString: strerror(errno)))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ListenError("cannot bind the unix socket \(path): \(reason)")
        }
        // nginx's workers run as another user: the mode says who may connect.
        chmod(path, mode)
        guard listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw ListenError("cannot listen on \(path): \(reason)")
        }
        return ListenSocket(fd: fd, address: .unix(path: path))
    }

    /// A socket file left by a process that died is removed; one that a live process answers on is an error,
    /// and so is any file that is not a socket (never delete what is not ours).
    private static func removeStaleSocket(at path: String, address: sockaddr_un) throws(ListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ListenError("cannot listen on \(path): a file that is not a socket is already there")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 {
            throw ListenError("cannot listen on \(path): another process is already serving on it")
        }
        unlink(path)
    }

    private static func openTCP(host: String, port: UInt16, backlog: Int32) throws(ListenError) -> ListenSocket {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw ListenError("cannot listen on \(host):\(port): \"\(host)\" is not a numeric IP address")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw ListenError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ListenError("cannot bind \(host):\(port): \(reason)")
        }
        guard listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ListenError("cannot listen on \(host):\(port): \(reason)")
        }
        return ListenSocket(fd: fd, address: .tcp(host: host, port: port))
    }

    /// Wakes every worker blocked in `accept` (it fails with EINVAL) and refuses new connections.
    func stopAccepting() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Closes the socket and removes its file, so that no stale socket is left behind.
    func closeAndRemove() {
        close(fd)
        if case .unix(let path) = address { unlink(path) }
    }
}
