import Foundation
import Synchronization
import Testing

@testable import HearingAI

@Suite("A run's first result: one caller leads, the others wait for it")
struct DecodingRunTests {
    @Test("Of eight concurrent callers one leads, and the seven others get what it settled, only after it did")
    func oneLeads() async throws {
        let first = FirstResult<String>()
        let settled = Flag()
        let results = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    switch await first.claim() {
                    case .lead:
                        try? await Task.sleep(for: .milliseconds(200))
                        settled.value.withLock { $0 = true }
                        await first.settle("de")
                        return "lead"
                    case .settled(let value):
                        #expect(settled.value.withLock { $0 })
                        return value
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 == "lead" }.count == 1)
        #expect(results.filter { $0 == "de" }.count == 7)
        // Later callers get it at once; a second settle changes nothing.
        await first.settle("fr")
        guard case .settled("de") = await first.claim() else {
            Issue.record("expected the settled value")
            return
        }
    }

    @Test("A leader that fails settles nothing: the others go on without a value")
    func leaderFails() async {
        let first = FirstResult<String>()
        guard case .lead = await first.claim() else {
            Issue.record("the first caller leads")
            return
        }
        async let waiting = first.claim()
        try? await Task.sleep(for: .milliseconds(50))
        await first.settle(nil)
        guard case .settled(nil) = await waiting else {
            Issue.record("a waiter gets nil")
            return
        }
    }
}

/// A flag the tasks of a test share.
private final class Flag: Sendable {
    let value = Mutex(false)
}
