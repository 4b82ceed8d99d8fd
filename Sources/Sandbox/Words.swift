import Foundation
import Payments

/// The words of TMoney's pages and SMS, in French and English (`Templates/strings.json`). A word may hold
/// `{{name}}` slots, filled by `word(_:_:_:)`: those words are plain text, never rendered as a template.
public struct Words: Sendable {
    private let table: [Language: [String: String]]

    public init(file: String) throws {
        let raw = try JSONDecoder().decode([String: [String: String]].self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        var table: [Language: [String: String]] = [:]
        for language in Language.allCases {
            guard let words = raw[language.rawValue] else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(file) has no \"\(language.rawValue)\" words"])
            }
            table[language] = words
        }
        // Every language must have every word: a missing one would show up as an empty spot on a page.
        let keys = Set(table.values.flatMap(\.keys))
        for (language, words) in table {
            let missing = keys.subtracting(words.keys)
            guard missing.isEmpty else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(file): \(language.rawValue) lacks \(missing.sorted())"])
            }
        }
        self.table = table
    }

    public func all(_ language: Language) -> [String: String] { table[language] ?? [:] }

    public func word(_ key: String, _ language: Language, _ values: [String: String] = [:]) -> String {
        var text = table[language]?[key] ?? key
        for (name, value) in values { text = text.replacing("{{" + name + "}}", with: value) }
        return text
    }
}
