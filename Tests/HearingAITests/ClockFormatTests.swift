import Testing

@testable import HearingAI

@Suite("Clock formats")
struct ClockFormatTests {
    @Test("H:MM:SS, MM:SS under an hour, and subtitle times with milliseconds")
    func styles() {
        #expect(ClockFormat.hours.string(59.5) == "0:01:00")
        #expect(ClockFormat.hours.string(59.5, rounding: .down) == "0:00:59")
        #expect(ClockFormat.hours.string(36_000) == "10:00:00")
        #expect(ClockFormat.minutes.string(3599.4) == "59:59")
        #expect(ClockFormat.minutes.string(3599.5) == "1:00:00")
        #expect(ClockFormat.milliseconds(separator: ",").string(3723.0456) == "01:02:03,046")
        #expect(ClockFormat.milliseconds(separator: ".").string(0.0004) == "00:00:00.000")
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test("Each delay is the capped base × factorⁿ⁻¹ times a draw from the jitter range")
    func delays() {
        let backoff = Backoff(base: 10, factor: 2, cap: 600, jitter: 0.8...1.2)
        let nominal: [Double] = [10, 10, 20, 40, 80, 160, 320, 600, 600]
        for (attempt, value) in zip(0..., nominal) {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= value * 0.8 && delay <= value * 1.2, "attempt \(attempt): \(delay)")
        }
        #expect(backoff.delay(attempt: 10_000) <= 600 * 1.2)
        #expect(Backoff(base: 0, factor: 2, cap: 60, jitter: 0.5...1).delay(attempt: 10_000) == 0)
    }
}
