import FastCGI
import Foundation
import Mustache
import Payments

/// The sandbox's templates (`Templates/*.mustache`), words (`Templates/strings.json`) and stylesheet
/// (`Templates/style.css`), loaded once at start. `{{value}}` is HTML-escaped by Mustache; no template uses
/// the unescaped `{{{value}}}`.
public struct SandboxPages: Sendable {
    private let library: MustacheLibrary
    public let words: Words
    /// Served at `/sandbox/style.css`, after Cross's `/style.css`: the rules of TMoney's own pages.
    let stylesheet: [UInt8]

    public init(directory: String) throws {
        var templates: [String: MustacheTemplate] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".mustache") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        library = MustacheLibrary(templates: templates)
        words = try Words(file: directory + "/strings.json")
        stylesheet = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/style.css")))
    }

    /// The templates bundled with the executable.
    public static func bundled() throws -> SandboxPages {
        guard let path = Bundle.module.path(forResource: "Templates", ofType: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the sandbox's Templates resource folder is missing next to the executable"])
        }
        return try SandboxPages(directory: path)
    }

    /// `template` in `language`, its words under `t`. Never cached: each page shows a payment's current state.
    func page(_ template: String, _ language: Language, title: String, _ context: [String: Any], status: HTTPStatus = .ok) -> Response {
        var context = context
        context["t"] = words.all(language)
        context["lang"] = language.rawValue
        context["title"] = title
        guard let html = library.render(context, withTemplate: template) else {
            preconditionFailure("no template named \(template)")
        }
        var response = Response.html(html, status: status)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }
}
