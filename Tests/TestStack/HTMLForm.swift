/// A page's form read back as a browser would post it, for tests that check what the page carries.
public enum HTMLForm {
    /// The hidden fields, in page order, their names and values decoded from HTML.
    public static func hiddenFields(_ html: String) -> [(String, String)] {
        html.components(separatedBy: "<input type=\"hidden\" ").dropFirst().map { piece in
            let name = piece.components(separatedBy: "name=\"")[1].components(separatedBy: "\"")[0]
            let value = piece.components(separatedBy: "value=\"")[1].components(separatedBy: "\"")[0]
            return (unescape(name), unescape(value))
        }
    }

    /// Decodes the entities Cross writes, by Unicode scalar: Foundation's replacing compares Characters, and
    /// `&amp;` followed by U+0301 ends in the Character `;́`, which is not `;`.
    public static func unescape(_ text: String) -> String {
        let entities: [String: Unicode.Scalar] = ["lt": "<", "gt": ">", "quot": "\"", "#39": "'", "#x27": "'", "#34": "\"", "amp": "&"]
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == "&", let end = scalars[index...].prefix(7).firstIndex(of: ";"),
               let decoded = entities[String(String.UnicodeScalarView(scalars[(index + 1)..<end]))] {
                out.append(decoded)
                index = end + 1
            } else {
                out.append(scalars[index])
                index += 1
            }
        }
        return String(out)
    }
}
