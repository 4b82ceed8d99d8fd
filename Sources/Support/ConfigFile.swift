import Foundation

/// A bad setting, named by its key (`webhooks[0].secret`), so that an operator fixes the right line.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What the file configures: `configuration`, `sandbox configuration`.
    public let subject: String
    public let key: String
    public let problem: String

    public init(_ subject: String, key: String, problem: String) {
        self.subject = subject
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(subject): \(key) \(problem)" }
}

/// Reads a JSON settings file into its `Decodable` shape. A missing key, a value of the wrong type or a file
/// that is not JSON is an error naming the key; checking the values themselves is the caller's.
public enum ConfigFile {
    public static func read<File: Decodable>(_ type: File.Type, path: String, subject: String) throws(ConfigurationError) -> File {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(subject, key: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        return try decode(type, from: data, name: path, subject: subject)
    }

    public static func decode<File: Decodable>(_ type: File.Type, from data: Data, name: String, subject: String) throws(ConfigurationError) -> File {
        do {
            return try JSONDecoder().decode(File.self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ConfigurationError(subject, key: keyPath(context.codingPath), problem: "has the wrong type")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigurationError(subject, key: keyPath(context.codingPath + [key]), problem: "is missing")
        } catch {
            throw ConfigurationError(subject, key: name, problem: "is not valid JSON: \(error)")
        }
    }

    /// A value the file may leave out (then `fallback`), which must lie in `range`: else an error naming `key`.
    public static func bounded<Value: Comparable>(
        _ value: Value?, default fallback: Value, in range: ClosedRange<Value>, subject: String, key: String, problem: String
    ) throws(ConfigurationError) -> Value {
        let chosen = value ?? fallback
        guard range.contains(chosen) else { throw ConfigurationError(subject, key: key, problem: problem) }
        return chosen
    }

    /// `merchants[0].allowed_addresses`.
    public static func keyPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }
}
