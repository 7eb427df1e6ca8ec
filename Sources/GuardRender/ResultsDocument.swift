/// `{"command": …, "exit_code": …, "results": [ … ]}`: the JSON document of the per-target
/// read commands (`check`, `hidden`), one object per target.
struct ResultsDocument<Result: Encodable>: Encodable {
    var command: String
    var exitCode: Int32
    var results: [Result]
}
