import FastCGI
import Foundation
import Payments
import WebPages

/// The sandbox's templates (`Templates/*.mustache`), words (`Templates/strings.json`) and stylesheet
/// (`Templates/style.css`), loaded once at start, rendered as Cross's own pages are. Never cached: each page
/// shows a payment's current state.
public struct SandboxPages: Sendable {
    private let pages: Pages
    /// Served at `/sandbox/style.css`, after Cross's `/style.css`: the rules of TMoney's own pages.
    let stylesheet: [UInt8]

    public init(directory: String) throws {
        pages = try Pages(directory: directory)
        stylesheet = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/style.css")))
    }

    /// The templates bundled with the executable.
    public static func bundled() throws -> SandboxPages {
        guard let path = Bundle.module.path(forResource: "Templates", ofType: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the sandbox's Templates resource folder is missing next to the executable"])
        }
        return try SandboxPages(directory: path)
    }

    public var strings: StringTable { pages.strings }

    /// `template` in `language`, its words under `t`.
    func page(_ template: String, _ language: Language, title: String, _ context: [String: Any], status: HTTPStatus = .ok) -> Response {
        pages.page(template, language, title: title, context, status: status)
    }
}
