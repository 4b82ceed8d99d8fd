/// The merchant's optional words and pages on an order. Every one is listed in `fields`, with its name (as the
/// API, the payment button and the order file spell it) and its rule: the API's reader, the button, the
/// validation, the order file, the API's answer and the dashboard all go through that list. Adding a field is a
/// property and an entry here.
public struct OrderDetails: Sendable, Equatable, Codable {
    /// The label in the shopper's history at the operator: up to 255 characters of plain text.
    public var description: String?
    /// The shopper's phone, if the merchant knows it (TMoney's page then does not let them change it).
    public var phone: String?
    /// Shown at the top of the operator's payment page.
    public var text: String?
    /// The merchant's pages the shopper is sent back to after each outcome (on allowed hosts only).
    public var acceptURL: String?
    public var declineURL: String?
    public var cancelURL: String?

    public init(
        description: String? = nil, phone: String? = nil, text: String? = nil, acceptURL: String? = nil,
        declineURL: String? = nil, cancelURL: String? = nil
    ) {
        self.description = description
        self.phone = phone
        self.text = text
        self.acceptURL = acceptURL
        self.declineURL = declineURL
        self.cancelURL = cancelURL
    }

    /// One optional field of an order.
    public struct Field: Sendable {
        public let name: String
        public let keyPath: WritableKeyPath<OrderDetails, String?> & Sendable
        /// The value to keep (normalised where harmless), or why it cannot be.
        public let check: @Sendable (_ value: String, _ policy: OrderPolicy) throws(FieldError) -> String
    }

    /// Every optional field, in the order their names sort (so that files list them as JSON encoders do).
    public static let fields: [Field] = [
        Field(name: "accept_url", keyPath: \.acceptURL) { value, policy throws(FieldError) in
            try FieldRule.returnURL(value, allowedHosts: policy.allowedReturnHosts, field: "accept_url")
        },
        Field(name: "cancel_url", keyPath: \.cancelURL) { value, policy throws(FieldError) in
            try FieldRule.returnURL(value, allowedHosts: policy.allowedReturnHosts, field: "cancel_url")
        },
        Field(name: "decline_url", keyPath: \.declineURL) { value, policy throws(FieldError) in
            try FieldRule.returnURL(value, allowedHosts: policy.allowedReturnHosts, field: "decline_url")
        },
        Field(name: "description", keyPath: \.description) { value, _ throws(FieldError) in try FieldRule.description(value) },
        Field(name: "phone", keyPath: \.phone) { value, _ throws(FieldError) in try FieldRule.phone(value, field: "phone") },
        Field(name: "text", keyPath: \.text) { value, _ throws(FieldError) in try FieldRule.text(value) },
    ]

    public static let names: Set<String> = Set(fields.map(\.name))

    /// The fields that are set, by name, in the order of `fields`.
    public var values: [(name: String, value: String)] {
        Self.fields.compactMap { field in self[keyPath: field.keyPath].map { (field.name, $0) } }
    }

    public var returnURLs: ReturnURLs { ReturnURLs(accept: acceptURL, decline: declineURL, cancel: cancelURL) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NamedKey.self)
        for field in Self.fields {
            self[keyPath: field.keyPath] = try container.decodeIfPresent(String.self, forKey: NamedKey(field.name))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: NamedKey.self)
        for (name, value) in values { try container.encode(value, forKey: NamedKey(name)) }
    }
}

/// The three return pages of an order.
public struct ReturnURLs: Sendable, Codable, Equatable {
    public var accept: String?
    public var decline: String?
    public var cancel: String?

    public init(accept: String? = nil, decline: String? = nil, cancel: String? = nil) {
        self.accept = accept
        self.decline = decline
        self.cancel = cancel
    }
}

/// A JSON key known only at run time: the order's optional fields, by name.
public struct NamedKey: CodingKey, Sendable {
    public let stringValue: String
    public init(_ name: String) { stringValue = name }
    public init(stringValue: String) { self.stringValue = stringValue }
    public var intValue: Int? { nil }
    public init?(intValue: Int) { nil }
}
