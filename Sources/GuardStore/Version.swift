public enum GuardStoreVersion { public static let schema = Schema.knownVersion }
