import ArgumentParser
import AdminDashboard
import Foundation

/// `cross admin …`: what the orders dashboard (`/admin/`) needs.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "The orders dashboard's credentials.", subcommands: [HashPassword.self])

    struct HashPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash-password",
            abstract: "Read a password from standard input (one line) and print its hash for the configuration.",
            discussion: """
                Put the printed line in the configuration file as the admin password hash:
                  "admin": {"user": "admin", "password_hash": "pbkdf2-sha256$…"}
                Example: printf '%s\\n' 'a long passphrase' | cross admin hash-password
                """)

        @Option(help: "PBKDF2-SHA256 rounds (at least \(AdminPassword.defaultRounds), OWASP's advice).")
        var rounds: Int = AdminPassword.defaultRounds

        func validate() throws {
            guard (AdminPassword.defaultRounds...10_000_000).contains(rounds) else {
                throw ValidationError("--rounds must be \(AdminPassword.defaultRounds) to 10000000")
            }
        }

        func run() throws {
            let interactive = isatty(STDIN_FILENO) == 1
            var saved = termios()
            if interactive {
                FileHandle.standardError.write(Data("Password: ".utf8))
                // No echo while the password is typed.
                tcgetattr(STDIN_FILENO, &saved)
                var quiet = saved
                quiet.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
            }
            let line = readLine(strippingNewline: true)
            if interactive {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            var password = line ?? ""
            if password.hasSuffix("\r") { password.removeLast() }
            guard !password.isEmpty else { throw fail("no password on standard input") }
            if password.count < 12 {
                FileHandle.standardError.write(Data("cross: warning: a password of fewer than 12 characters is easy to guess\n".utf8))
            }
            print(AdminPassword.hash(password, rounds: rounds))
        }
    }
}
