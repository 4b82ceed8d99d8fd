import Mustache

/// HTML escaping by Unicode scalar. swift-mustache's own escapes by Character, and a `"` followed by a combining
/// accent (U+0301) is one Character that is not `"`: it went out raw and ended an attribute. Here every `<`,
/// `>`, `&`, `"` and `'` scalar is escaped, whatever follows it.
struct ScalarHTML: MustacheContentType {
    static let name = "CROSS_HTML"
    static let pragma = "{{% CONTENT_TYPE: \(name)}}"

    /// Registered before any template is parsed (the pragma is looked up at parse time); idempotent.
    static func register() {
        MustacheContentTypes.register(ScalarHTML(), named: name)
    }

    func escapeText(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
