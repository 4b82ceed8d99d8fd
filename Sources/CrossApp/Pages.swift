import FastCGI
import Foundation
import Mustache
import Payments

/// The HTML templates (`Templates/*.mustache`) and the words that fill them (`Templates/strings.json`),
/// loaded once at start. `{{value}}` is HTML-escaped by Mustache; no template uses the unescaped `{{{value}}}`.
public struct Pages: Sendable {
    private let library: MustacheLibrary
    public let strings: Strings

    public init(directory: String) throws {
        var templates: [String: MustacheTemplate] = [:]
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mustache") }
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        library = MustacheLibrary(templates: templates)
        strings = try Strings(file: directory + "/strings.json")
    }

    /// The templates bundled with the executable.
    public static func bundled() throws -> Pages {
        guard let path = Bundle.module.path(forResource: "Templates", ofType: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the Templates resource folder is missing next to the executable"])
        }
        return try Pages(directory: path)
    }

    /// Renders `template` with `context`; a missing template is a programming error the tests catch.
    public func render(_ template: String, _ context: [String: Any]) -> String {
        guard let html = library.render(context, withTemplate: template) else {
            preconditionFailure("no template named \(template)")
        }
        return html
    }

    public func response(_ template: String, _ context: [String: Any], status: HTTPStatus = .ok) -> Response {
        var response = Response.html(render(template, context), status: status)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    /// A page in `language` with its words under `t`.
    public func page(_ template: String, _ language: Language, title: String, _ context: [String: Any], status: HTTPStatus = .ok) -> Response {
        var context = context
        context["t"] = strings.words(language)
        context["lang"] = language.rawValue
        context["title"] = title
        return response(template, context, status: status)
    }
}
