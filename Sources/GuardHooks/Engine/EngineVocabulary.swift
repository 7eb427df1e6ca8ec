// The value types of the engine's API are the store's: re-exported one by one, so a client
// of GuardHooks (the command line, a Swift backup tool) can name them without importing
// GuardStore, and so cannot open a store around the engine.
import GuardStore
@_exported import struct GuardStore.GuardRecord
@_exported import struct GuardStore.GuardEvent
@_exported import struct GuardStore.GuardStatus
@_exported import struct GuardStore.RunRecord
@_exported import struct GuardStore.HookResultRecord
@_exported import struct GuardStore.AbandonedRun
@_exported import struct GuardStore.ClaimHolder
@_exported import struct GuardStore.ClaimRecord
@_exported import struct GuardStore.ClaimEvent
@_exported import enum GuardStore.GuardKind
@_exported import enum GuardStore.GuardLifetime
@_exported import enum GuardStore.GuardState
@_exported import enum GuardStore.PendingAction
@_exported import enum GuardStore.HookOutcome
@_exported import typealias GuardStore.GuardID
@_exported import typealias GuardStore.RunID

@_exported import enum GuardStore.GuardSelection
@_exported import struct GuardStore.RescueRecord
