import Foundation

/// Where the sandbox keeps its state: one JSON file, replaced whole on every change. The new state is
/// written beside it, flushed to disk and renamed over it, so that a crash leaves the old state or the new
/// one, never half of either.
public struct StateFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The saved state with any account the configuration gained since; a fresh state when there is no file.
    public func load(_ configuration: SandboxConfiguration) throws(Failure) -> SandboxState {
        guard FileManager.default.fileExists(atPath: path) else { return SandboxState(configuration) }
        do {
            var state = try JSONDecoder().decode(SandboxState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            state.adopt(configuration)
            return state
        } catch {
            throw Failure(description: "the state file \(path) cannot be read (\(error)); `cross sandbox reset` starts afresh")
        }
    }

    public func save(_ state: SandboxState) throws(Failure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw Failure(description: "cannot encode the state: \(error)") }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        let written = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        guard written, fsync(fd) == 0 else {
            let problem = failure("cannot write \(temporary)")
            close(fd)
            unlink(temporary)
            throw problem
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let problem = failure("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw problem
        }
    }

    private func failure(_ what: String) -> Failure {
        Failure(description: "\(what): \(String(cString: strerror(errno)))")
    }
}
