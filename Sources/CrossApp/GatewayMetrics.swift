import Dispatch
import Metrics
import Payments

/// Every call to an operator's server, timed and its failures counted, whatever module speaks the operator's
/// protocol: `cross_gateway_call_duration_seconds{operator, call}` and
/// `cross_gateway_call_errors_total{operator, call, error}`. `call` is `session` (TMoney Online), `debit`,
/// `status` or `credit`; `error` is the kind of `OperatorFailure` (`refused`, `unrecognized`, `http_status`,
/// `timeout`, `transport`).
enum GatewayMetrics {
    static func timed<Success>(
        _ operator: Operator, _ call: String, _ body: () -> Result<Success, OperatorFailure>
    ) -> Result<Success, OperatorFailure> {
        let started = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let dimensions = [("operator", `operator`.rawValue), ("call", call)]
        Metrics.Timer(label: "cross_gateway_call_duration_seconds", dimensions: dimensions)
            .recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds - started))
        if case .failure(let failure) = result {
            Counter(label: "cross_gateway_call_errors_total", dimensions: dimensions + [("error", kind(of: failure))]).increment()
        }
        return result
    }

    static func kind(of failure: OperatorFailure) -> String {
        switch failure {
        case .refused: "refused"
        case .unrecognized: "unrecognized"
        case .httpStatus: "http_status"
        case .timeout: "timeout"
        case .transport: "transport"
        }
    }
}

/// TMoney Online, its session calls timed.
struct MeteredRedirectOperator: RedirectOperator {
    let base: any RedirectOperator
    var `operator`: Operator { base.operator }

    func openSession() -> Result<RedirectSession, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "session") { base.openSession() }
    }

    func paymentForm(for order: Order, attempt: Attempt, returnPages: ReturnURLs) -> PaymentForm {
        base.paymentForm(for: order, attempt: attempt, returnPages: returnPages)
    }
}

/// A phone operator (Flooz), its debits and status calls timed.
struct MeteredPushOperator: PushOperator {
    let base: any PushOperator
    var `operator`: Operator { base.operator }
    var promptLifetimeSeconds: Int64 { base.promptLifetimeSeconds }

    func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "debit") { base.requestDebit(debit) }
    }

    func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "status") { base.status(ofRequest: reference) }
    }
}

/// A phone operator that also sends money (TMoney's MBANKING), its debits, credits and status calls timed.
struct MeteredPushCreditOperator: PushOperator, CreditOperator {
    let base: any PushOperator & CreditOperator
    var `operator`: Operator { base.operator }
    var promptLifetimeSeconds: Int64 { base.promptLifetimeSeconds }

    func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "debit") { base.requestDebit(debit) }
    }

    func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "status") { base.status(ofRequest: reference) }
    }

    func credit(_ credit: OperatorRequest) -> Result<String, OperatorFailure> {
        GatewayMetrics.timed(base.operator, "credit") { base.credit(credit) }
    }
}
