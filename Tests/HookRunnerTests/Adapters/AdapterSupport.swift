import GuardTestSupport

/// The adapter suites (vzdump, ProxSave import, recipes, metrics), all named `AdapterTests.*`
/// so `--filter AdapterTests` finds them.
enum AdapterTests {}

extension SandboxCLI {
    /// hook-runner on a sandbox directory whose `hooks.d` is the hooks directory (the adapters
    /// run the shipped hooks from there: `installShippedHooks()`).
    init(adapterSandbox dir: SandboxDirectory) { self.init(dir: dir, hooksDirInSandbox: true) }
}
