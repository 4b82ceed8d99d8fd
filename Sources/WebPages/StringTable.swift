import Foundation
import Payments

/// The words of a set of pages, in French and English (a `strings.json` beside the templates). Every language
/// must have every word: a missing one would show up as an empty spot on a page, so it stops start-up instead.
public struct StringTable: Sendable {
    private let table: [Language: [String: String]]

    public init(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let raw = try JSONDecoder().decode([String: [String: String]].self, from: data)
        var table: [Language: [String: String]] = [:]
        for language in Language.allCases {
            guard let words = raw[language.rawValue] else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(file) has no \"\(language.rawValue)\" words"])
            }
            table[language] = words
        }
        let keys = Set(table.values.flatMap(\.keys))
        for (language, words) in table {
            let missing = keys.subtracting(words.keys)
            guard missing.isEmpty else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(file): \(language.rawValue) lacks \(missing.sorted())"])
            }
        }
        self.table = table
    }

    /// Every word of `language`, for a template's `t`.
    public func words(_ language: Language) -> [String: String] { table[language] ?? [:] }

    /// One word, with `{{name}}` placeholders filled from `values`; the key itself when there is no such word.
    public func word(_ key: String, _ language: Language, _ values: [String: String] = [:]) -> String {
        var text = table[language]?[key] ?? key
        for (name, value) in values { text = text.replacing("{{" + name + "}}", with: value) }
        return text
    }
}
