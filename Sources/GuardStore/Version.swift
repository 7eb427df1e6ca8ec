public enum GuardStoreVersion { public static let schema = 1 }
