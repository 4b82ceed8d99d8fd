/// The hidden fields of the order form that takes the shopper to TMoney's payment page, exactly as the
/// spec's table lists them: required fields always, optional ones only when set.
public struct CheckoutForm: Sendable, Equatable {
    /// `{gateway}/online/online.php`.
    public let action: String
    public let fields: [Field]

    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    /// - Parameters:
    ///   - returnPages: Cross's own accept, decline and cancel pages for this order (they carry its link).
    ///   - phoneFieldName: the spelling the gateway expects (`phonenumber`; the seed's table says `phonennumber`).
    public init(
        order: Order, session: SessionID, merchantID: String, gatewayURL: String,
        returnPages: (accept: String, decline: String, cancel: String), phoneFieldName: String = "phonenumber"
    ) {
        action = gatewayURL + "/online/online.php"
        var fields: [Field] = [
            Field(name: "sessionid", value: session.value),
            Field(name: "merchantid", value: merchantID),
            Field(name: "amount", value: order.amount.digits),
            Field(name: "currency", value: order.currency),
            Field(name: "purchaseref", value: order.ref),
        ]
        if let phone = order.phone { fields.append(Field(name: phoneFieldName, value: phone)) }
        fields.append(Field(name: "brand", value: order.brand))
        if let description = order.description { fields.append(Field(name: "description", value: description)) }
        fields.append(Field(name: "accepturl", value: returnPages.accept))
        fields.append(Field(name: "declineurl", value: returnPages.decline))
        fields.append(Field(name: "cancelurl", value: returnPages.cancel))
        if let text = order.text { fields.append(Field(name: "text", value: text)) }
        fields.append(Field(name: "language", value: order.language.rawValue))
        self.fields = fields
    }
}
