package enum GuardStoreVersion { package static let schema = Schema.knownVersion }
