import Payments
import Support

/// What every phone operator's partner entry in the sandbox's configuration holds alike, checked once for both
/// (MBANKING's and Flooz's): where its callbacks go, how they go, and the balance it opens with.
enum PartnerEntry {
    /// The callback URL and fate, the balance checked; `invalid` names the entry's key in an error.
    static func callback(
        url: String, fate: String?, balance: Int64, key: String, invalid: (String, String) -> ConfigurationError
    ) throws(ConfigurationError) -> (url: String, fate: CallbackFate) {
        let checked: String
        do {
            checked = try WebAddress.check(url, field: "callback_url")
        } catch {
            throw invalid(key + ".callback_url", error.message)
        }
        guard balance >= 0 else { throw invalid(key + ".balance", "must be 0 or more francs") }
        do {
            return (checked, try CallbackFate(parsing: fate ?? "send"))
        } catch {
            throw invalid(key + ".callback", error.description)
        }
    }
}
