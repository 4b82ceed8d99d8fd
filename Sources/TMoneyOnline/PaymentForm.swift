import Payments

extension TMoneyOnline {
    /// The hidden fields of the order form that takes the shopper to TMoney's payment page, exactly as the spec's
    /// table lists them: required fields always, optional ones only when set.
    public func paymentForm(for order: Order, attempt: Attempt, returnPages: ReturnURLs) -> PaymentForm {
        var fields: [PaymentForm.Field] = [
            .init(name: "sessionid", value: attempt.reference),
            .init(name: "merchantid", value: settings.merchantID),
            .init(name: "amount", value: order.amount.digits),
            .init(name: "currency", value: order.currency),
            .init(name: "purchaseref", value: order.ref),
        ]
        if let phone = order.details.phone { fields.append(.init(name: settings.phoneFieldName, value: phone)) }
        fields.append(.init(name: "brand", value: order.brand))
        if let description = order.details.description { fields.append(.init(name: "description", value: description)) }
        if let accept = returnPages.accept { fields.append(.init(name: "accepturl", value: accept)) }
        if let decline = returnPages.decline { fields.append(.init(name: "declineurl", value: decline)) }
        if let cancel = returnPages.cancel { fields.append(.init(name: "cancelurl", value: cancel)) }
        if let text = order.details.text { fields.append(.init(name: "text", value: text)) }
        fields.append(.init(name: "language", value: order.language.rawValue))
        return PaymentForm(action: settings.gatewayURL + "/online/online.php", fields: fields)
    }
}
