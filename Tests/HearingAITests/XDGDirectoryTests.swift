import Testing

@testable import HearingAI

@Suite("XDG base directories")
struct XDGDirectoryTests {
    @Test("The XDG variable wins, then HOME; relative paths and /nonexistent do not count")
    func lookup() {
        let both = ["XDG_CACHE_HOME": "/xdg/cache", "XDG_DATA_HOME": "/xdg/data", "HOME": "/home/ann"]
        #expect(XDGDirectory.cache.path(appending: "hearingai", environment: both) == "/xdg/cache/hearingai")
        #expect(XDGDirectory.data.path(appending: "hearingai", environment: both) == "/xdg/data/hearingai")

        let home = ["XDG_CACHE_HOME": "relative", "HOME": "/home/ann"]
        #expect(XDGDirectory.cache.path(appending: "hearingai", environment: home) == "/home/ann/.cache/hearingai")
        #expect(XDGDirectory.data.path(appending: "hearingai", environment: home) == "/home/ann/.local/share/hearingai")

        #expect(XDGDirectory.cache.path(appending: "hearingai", environment: ["HOME": "/nonexistent"]) == nil)
        #expect(XDGDirectory.data.path(appending: "hearingai", environment: ["HOME": "relative"]) == nil)
        #expect(XDGDirectory.data.path(appending: "hearingai", environment: [:]) == nil)
    }
}
