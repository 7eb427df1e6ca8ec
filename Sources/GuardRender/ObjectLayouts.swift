/// How an object's members are written: in byte order of their snake_case names, of equal
/// names only the last. Rows of a listing encode the same keys in the same order, so the
/// layout is remembered for the last few key sequences seen (compared as bytes).
final class ObjectLayouts {
    typealias Layout = [(name: String, entry: Int)]
    private let snake = SnakeCaseKeys()
    private var recent: [(keys: [String], snakeCase: Bool, layout: Layout)] = []

    /// `snakeCase`: false for a dictionary's keys, which are written as they are.
    func layout(_ entries: [JSONEncoding.Entry], snakeCase: Bool = true) -> Layout {
        // Keys compare as bytes (two spellings of "é" are two keys).
        for known in recent where known.snakeCase == snakeCase && known.keys.count == entries.count
            && zip(known.keys, entries).allSatisfy({ $0.0.utf8.elementsEqual(($0.1.key ?? "").utf8) }) {
            return known.layout
        }
        let names = entries.map { snakeCase ? snake($0.key ?? "") : ($0.key ?? "") }
        // Stable, so of equal names the last one sorts last.
        let order = names.indices.sorted { a, b in
            let (x, y) = (names[a].utf8, names[b].utf8)
            return x.elementsEqual(y) ? a < b : x.lexicographicallyPrecedes(y)
        }
        var layout: Layout = []
        for (n, i) in order.enumerated() where n + 1 == order.count || !names[order[n + 1]].utf8.elementsEqual(names[i].utf8) {
            layout.append((names[i], i))
        }
        if recent.count == 8 { recent.removeFirst() }
        recent.append((entries.map { $0.key ?? "" }, snakeCase, layout))
        return layout
    }
}

/// The snake_case form of coding keys, each converted once per encoder.
final class SnakeCaseKeys {
    private var converted: [String: String] = [:]

    func callAsFunction(_ name: String) -> String {
        if let known = converted[name] { return known }
        let snake = Self.snakeCase(name)
        converted[name] = snake
        return snake
    }

    /// A word starts at an uppercase letter after a non-uppercase one, and at the last
    /// capital of an acronym followed by lowercase (`mountIDIsUnique` → `mount_id_is_unique`).
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if i > 0, c.isUppercase,
               !chars[i - 1].isUppercase || (i + 1 < chars.count && chars[i + 1].isLowercase) {
                out.append("_")
            }
            out += c.lowercased()
        }
        return out
    }
}
