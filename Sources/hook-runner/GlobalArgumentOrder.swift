import ArgumentParser

/// Lets the global options come before the subcommand name (`hook-runner --db X guards`), as
/// git, systemctl and kubectl users type them.
///
/// swift-argument-parser only accepts a subcommand's `@OptionGroup` after that subcommand's
/// name, so before parsing we move the recognised global options that precede the command
/// path (and their values, `--db X` or `--db=X`) to just after it: `--db X import proxsave`
/// becomes `import proxsave --db X`. Anything else before the command path (`--help`,
/// `--version`, an unknown option, `--`) leaves the arguments as they are, for the parser
/// to answer as usual.
enum GlobalArgumentOrder {
    /// Global options that take a value.
    static let valued: Set<String> = ["--db", "--config", "--allow-root"]
    /// Global flags. `--dry-run` moves too: a command without it then says so itself.
    static let flags: Set<String> = ["--json", "--dry-run"]

    /// `arguments` without the program name, with leading global options moved behind the
    /// command path of `root`'s subcommand tree.
    static func reorder(_ arguments: [String], root: ParsableCommand.Type) -> [String] {
        var leading: [String] = []
        var i = 0
        while i < arguments.count, arguments[i].hasPrefix("-") {
            let argument = arguments[i]
            let name = String(argument.prefix { $0 != "=" })
            if flags.contains(argument) {
                leading.append(argument); i += 1
            } else if valued.contains(name) && argument.contains("=") {
                leading.append(argument); i += 1
            } else if valued.contains(argument) && i + 1 < arguments.count {
                leading += [argument, arguments[i + 1]]; i += 2
            } else {
                return arguments
            }
        }
        guard !leading.isEmpty else { return arguments }
        // The command path: each name must be a subcommand of the one before it.
        var command = root
        var end = i
        while end < arguments.count,
              let sub = command.configuration.subcommands.first(where: { $0.configuration.commandName == arguments[end] }) {
            command = sub
            end += 1
        }
        guard end > i else { return arguments }
        return Array(arguments[i..<end]) + leading + Array(arguments[end...])
    }
}
