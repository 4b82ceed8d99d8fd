import Payments

/// What the shopper's pages need of the configuration.
public struct CheckoutSettings: Sendable {
    /// How shoppers and operators reach Cross: `https://pay.example.tg`. Return pages given to operators start with it.
    public var publicURL: String
    /// Seconds before the checkout page sends itself to the operator (0: only on the button).
    public var autoSubmitSeconds: Int
    /// Signs payment buttons.
    public var buttonSecret: String
    /// The language of pages about no order in particular (a bad link, a refused button).
    public var defaultLanguage: Language

    public init(publicURL: String, autoSubmitSeconds: Int, buttonSecret: String, defaultLanguage: Language) {
        self.publicURL = publicURL
        self.autoSubmitSeconds = autoSubmitSeconds
        self.buttonSecret = buttonSecret
        self.defaultLanguage = defaultLanguage
    }
}
