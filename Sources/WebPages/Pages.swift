import FastCGI
import Foundation
import Mustache
import Payments

/// HTML templates (`*.mustache` in a folder) and the words that fill them (its `strings.json`), loaded once at
/// start. `{{value}}` is HTML-escaped, Unicode scalar by Unicode scalar (`ScalarHTML`); no template uses the
/// unescaped `{{{value}}}`.
public struct Pages: Sendable {
    private let library: MustacheLibrary
    public let strings: StringTable
    /// Development: every page carries a "TEST MODE" ribbon (`testMode` in its context).
    public var testMode = false

    public init(directory: String) throws {
        ScalarHTML.register()
        var templates: [String: MustacheTemplate] = [:]
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mustache") }
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            // Every template, partials included, escapes as ScalarHTML: no file can forget to ask for it.
            templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: ScalarHTML.pragma + text)
        }
        library = MustacheLibrary(templates: templates)
        strings = try StringTable(file: directory + "/strings.json")
    }

    /// Cross's own pages (this module's `Templates`): the shopper's, the dashboard's, the errors.
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
        if testMode { context["testMode"] = true }
        return response(template, context, status: status)
    }

    /// A page with a heading and a message (a 404, an expired order, a refused button).
    public func message(_ language: Language, heading: String, message: String, shopURL: String? = nil, status: HTTPStatus) -> Response {
        var context: [String: Any] = ["heading": heading, "message": message]
        // Only values that exist go in a context: Mustache shows "nil" for an absent one.
        if let shopURL { context["shopURL"] = shopURL }
        return page("message", language, title: heading, context, status: status)
    }
}
