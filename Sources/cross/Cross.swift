import ArgumentParser

@main
struct Cross: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cross",
        abstract: "TMoney Online payments for merchants: a FastCGI responder behind nginx.",
        subcommands: [
            Serve.self, Orders.self, Payouts.self, Reconcile.self, SandboxCommand.self, Button.self, Webhooks.self, AdminCommand.self,
            IndexCommand.self, JournalCommand.self, BackupCommand.self, DoctorCommand.self,
        ]
    )
}
