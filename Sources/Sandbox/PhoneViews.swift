import FastCGI
import Payments
import WebPages

/// The shopper's handset, as a page: the USSD prompt a debit put on it, the PIN field, and what came of the
/// answer. In French, as TMoney's USSD menus are. Every value goes through the templates' escaping.
enum PhoneViews {
    /// What the page shows after a POST.
    enum Answer: Sendable, Equatable {
        case result(PromptResult)
        /// The prompt posted is not open on this phone (it ended, or another tab answered it).
        case gone
    }

    static let language = Language.fr

    /// `GET` and `POST /sandbox/phone/{number}`. The oldest open prompt is shown, as a phone shows one USSD
    /// session at a time. With neither a prompt nor an answer, the page reloads itself every 2 s, so that a
    /// new prompt appears; never while a PIN field is shown.
    static func page(
        account: SandboxConfiguration.Account, state: SandboxState, prompts: [Prompt], answer: Answer?,
        sandbox: TMoneySandbox, pages: SandboxPages
    ) -> Response {
        let words = pages.strings
        let balance = state.accounts[account.phone]?.balance ?? account.openingBalance
        var context: [String: Any] = [
            "number": PhoneNumber(account.phone)?.displayed ?? account.phone, "phone": account.phone, "name": account.name,
            // The network the handset shows: its range's (a sandbox account is not ported).
            "network": PhoneNumber(account.phone)?.suggestedOperator?.displayName ?? "TMoney",
            "balance": words.word("phone_balance", language, ["balance": Amount.formatted(francs: balance)]),
        ]
        if let answer {
            switch answer {
            case .result(let result): context["result"] = ["text": resultText(result, words), "ok": result.status == .success]
            case .gone: context["result"] = ["text": words.word("phone_gone", language), "ok": false]
            }
        }
        if let prompt = prompts.first {
            let merchant = sandbox.merchantName(prompt)
            var shown: [String: Any] = [
                "id": prompt.id, "text": ussdText(prompt, merchant: merchant, words),
                "expires": words.word("phone_expires", language, ["time": String(prompt.expiresAt.iso8601.dropFirst(11).prefix(8))]),
            ]
            if prompts.count > 1 { shown["others"] = words.word("phone_others", language, ["count": String(prompts.count - 1)]) }
            context["prompt"] = shown
        } else if answer == nil {
            context["refresh"] = true
            context["idle"] = words.word("phone_no_prompt", language)
        } else {
            context["back"] = "/sandbox/phone/" + account.phone
        }
        return pages.page("phone", language, title: words.word("phone_title", language) + " · " + account.phone, context)
    }

    static func unknown(_ pages: SandboxPages) -> Response {
        let heading = pages.strings.word("phone_unknown_title", language)
        return pages.page("error", language, title: heading, [
            "heading": heading, "message": pages.strings.word("phone_unknown", language),
        ], status: .notFound)
    }

    /// «TMoney: Payer 15 000 F CFA à Boutique Démo (réf CMD-1). Entrez votre code secret pour valider.», or
    /// Flooz's «Flooz: Payer … Entrez votre code secret Flooz pour valider.»
    static func ussdText(_ prompt: Prompt, merchant: String, _ words: StringTable) -> String {
        words.word(prompt.network == .flooz ? "phone_ussd_flooz" : "phone_ussd", language, [
            "amount": Amount.formatted(francs: prompt.amount), "merchant": merchant, "ref": prompt.refCommande,
        ])
    }

    /// What the phone says of an answer; the prompts API's `message` too.
    static func resultText(_ result: PromptResult, _ words: StringTable) -> String {
        switch result {
        case .paid(let balance): words.word("phone_paid", language, ["balance": Amount.formatted(francs: balance)])
        case .declined: words.word("phone_declined", language)
        case .wrongPIN(let left): words.word(left == 1 ? "phone_wrong_pin_last" : "phone_wrong_pin", language, ["count": String(left)])
        case .blocked: words.word("phone_blocked", language)
        case .balanceShort(let balance): words.word("phone_balance_short", language, ["balance": Amount.formatted(francs: balance)])
        case .expired: words.word("phone_expired", language)
        }
    }
}
