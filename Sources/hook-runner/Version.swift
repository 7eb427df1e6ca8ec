/// The release, printed by `hook-runner --version`; the Makefile's deb version reads it.
enum HookRunnerVersion {
    static let version = "0.1.0"
}
