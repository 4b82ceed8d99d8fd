import Foundation
import Payments

/// The words of the shopper's pages, in French and English (`Templates/strings.json`).
public struct Strings: Sendable {
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

    public func words(_ language: Language) -> [String: String] { table[language] ?? [:] }

    public func word(_ key: String, _ language: Language) -> String { table[language]?[key] ?? key }
}
