/// How a bearer credential (a TMoney session id, a token) appears in logs and on the dashboard: its first and
/// last four characters, enough to tell two apart and never enough to use one.
public enum Redaction {
    public static func ends(_ secret: String) -> String {
        guard secret.count > 8 else { return String(repeating: "…", count: secret.isEmpty ? 0 : 1) }
        return String(secret.prefix(4)) + "…" + String(secret.suffix(4))
    }
}
