import GuardHooks
extension Render {
    /// `{"command": …, "exit_code": …, "results": [ … ]}`: the JSON document of the
    /// per-target read commands (`check`, `hidden`), one object per target.
    static func resultsDocument<T>(_ command: String, _ code: SysExitCode, _ results: [T], fd: Int32,
                                   _ body: (T, inout JSONWriter) -> Void) {
        var w = JSONWriter(fd: fd)
        w.object { w in
            w.field("command", command)
            w.field("exit_code", code.rawValue)
            w.array("results") { w in for r in results { w.object { w in body(r, &w) } } }
        }
        w.finish()
    }
}
