import Foundation
import HearingAI
import Synchronization
import TestSupport
import Testing

@testable import HearingAIOpenAI

/// Context across chunks: each chunk after the first of its run is sent with the end of what the
/// chunks before it said, against the real loopback server (which answers with
/// `pocketsphinx_continuous` and logs every request's fields and times).
@Suite("Prompt chaining: chunks continue the text before them", .serialized, .timeLimit(.minutes(5)))
struct PromptChainingTests {
    /// One transcription against a fresh server: the transcript, the requests by chunk, the
    /// words each chunk kept and the owned start of each chunk.
    struct Outcome {
        var transcript: Transcript
        /// The last request for each chunk.
        var requests: [Int: OpenAITestServer.Request]
        /// Every request, in the order logged.
        var all: [OpenAITestServer.Request]
        var words: [Int: [Word]]
        var ownedStarts: [Int: Double]
    }

    static let plan = ChunkPlan(chunkSize: 8, overlap: 0.5)

    func transcribe(
        workers: Int, contextChunks: Int, prompt: String? = nil, cache directory: URL? = nil, server existing: OpenAITestServer? = nil,
        plan: ChunkPlan = plan
    ) async throws -> Outcome {
        let server = try existing ?? OpenAITestServer()
        defer { if existing == nil { server.stop() } }
        let before = try server.requests().count
        let scratch = try directory ?? temporaryDirectory(prefix: "hearingai-chain")
        defer { if directory == nil { try? FileManager.default.removeItem(at: scratch) } }
        let checkpoints = ChunkCache(directory: scratch).entry(forKey: "run")
        let orchestrator = WorkflowOrchestrator(
            engine: OpenAIEngine(
                configuration: loopback(server) {
                    $0.contextChunks = contextChunks
                    $0.language = "en"
                    $0.prompt = prompt
                }),
            maxWorkers: workers, resources: ResourceManager(limit: nil))
        let starts = Mutex<[Int: Double]>([:])
        let transcript = try await orchestrator.transcribe(
            TestPaths.fixture("speech/conversation.wav"),
            configuration: PipelineConfiguration(chunking: plan, maxWorkers: workers), checkpoints: checkpoints
        ) { progress in
            if let chunk = progress.chunk { starts.withLock { $0[chunk.index] = chunk.start } }
        }
        await orchestrator.close()
        var requests: [Int: OpenAITestServer.Request] = [:]
        let all = Array(try server.requests().dropFirst(before))
        for request in all {
            let index = try #require(request.filename.flatMap { Int($0.dropFirst("chunk-".count).dropLast(".wav".count)) })
            requests[index] = request
        }
        var words: [Int: [Word]] = [:]
        for index in 0..<transcript.metadata.chunking.chunks {
            words[index] = try #require(checkpoints.load(chunk: index)).words
        }
        return Outcome(transcript: transcript, requests: requests, all: all, words: words, ownedStarts: starts.withLock { $0 })
    }

    /// The prompt chunk `index` should carry: the words of the chunks before it in its run that
    /// end before its audio begins, at most the engine's 400 characters from the end.
    func expectedPrompt(_ outcome: Outcome, index: Int, runLength: Int, prompt: String? = nil) throws -> String? {
        let runStart = index / runLength * runLength
        let audioStart = try #require(outcome.ownedStarts[index]) - Self.plan.overlap
        let before = (runStart..<index).flatMap { outcome.words[$0] ?? [] }.filter { $0.end <= audioStart + 0.05 }
        let text = before.map(\.text).joined(separator: " ")
        return OpenAIEngine.Configuration(prompt: prompt).prompt(precedingText: index == runStart ? nil : text)
    }

    @Test("A run's chunks go in order, each prompted with the words before its audio; a run's first chunk goes cold")
    func chained() async throws {
        let outcome = try await transcribe(workers: 2, contextChunks: 3)
        let chunks = outcome.transcript.metadata.chunking.chunks
        #expect(chunks >= 7)
        #expect(outcome.requests.count == chunks)
        var chainedWithText = 0
        for index in 0..<chunks {
            let request = try #require(outcome.requests[index])
            let sent = request.fields?["prompt"]?.first
            let expected = try expectedPrompt(outcome, index: index, runLength: 3)
            #expect(sent == expected, "chunk \(index)")
            if index % 3 == 0 {
                #expect(sent == nil, "chunk \(index) starts a run")
            } else {
                if sent != nil { chainedWithText += 1 }
                // It was sent only once the chunk before it had its answer.
                let previous = try #require(outcome.requests[index - 1])
                #expect(request.time >= previous.time + (previous.seconds ?? 0) - 0.005, "chunk \(index) waited for \(index - 1)")
            }
        }
        // The conversation speaks throughout: every chained chunk had words before it.
        #expect(chainedWithText == (0..<chunks).filter { $0 % 3 != 0 }.count)
        // Two runs at once: the second run's first request went before the first run ended.
        let firstRunEnd = try #require(outcome.requests[2]).time
        #expect(try #require(outcome.requests[3]).time < firstRunEnd)
    }

    @Test("One worker and three give the same prompts and the same transcript: runs are cut by chunk index")
    func deterministic() async throws {
        let one = try await transcribe(workers: 1, contextChunks: 3)
        let three = try await transcribe(workers: 3, contextChunks: 3)
        #expect(one.requests.count == three.requests.count)
        for (index, request) in one.requests {
            #expect(request.fields?["prompt"] == three.requests[index]?.fields?["prompt"], "chunk \(index)")
        }
        #expect(one.transcript.words.map(\.text) == three.transcript.words.map(\.text))
        #expect(one.transcript.text == three.transcript.text)
    }

    @Test("The user's prompt (and glossary) comes first, the text before the chunk after it")
    func afterUserPrompt() async throws {
        let outcome = try await transcribe(workers: 2, contextChunks: 4, prompt: "A radio interview.")
        for (index, request) in outcome.requests {
            let sent = try #require(request.fields?["prompt"]?.first)
            #expect(sent == (try expectedPrompt(outcome, index: index, runLength: 4, prompt: "A radio interview.")))
            #expect(sent.hasPrefix("A radio interview."))
            #expect((sent == "A radio interview.") == (index % 4 == 0), "chunk \(index)")
        }
    }

    @Test("--context-chunks 1 sends every chunk cold, as before")
    func off() async throws {
        let outcome = try await transcribe(workers: 2, contextChunks: 1)
        #expect(outcome.requests.count == outcome.transcript.metadata.chunking.chunks)
        #expect(outcome.requests.values.allSatisfy { $0.fields?["prompt"] == nil })
    }

    @Test("A resumed run prompts the chunks it still sends with the words of the checkpointed chunks before them")
    func resumed() async throws {
        let directory = try temporaryDirectory(prefix: "hearingai-chain")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try OpenAITestServer()
        defer { server.stop() }
        let first = try await transcribe(workers: 2, contextChunks: 3, cache: directory, server: server)
        // Chunks 4 and 5 were lost (the run was killed while they decoded).
        let entry = directory.appendingPathComponent("chunks/run")
        for name in ["chunk-000004.json", "chunk-000005.json"] {
            try FileManager.default.removeItem(at: entry.appendingPathComponent(name))
        }
        let second = try await transcribe(workers: 2, contextChunks: 3, cache: directory, server: server)
        #expect(second.requests.keys.sorted() == [4, 5])
        #expect(second.requests[4]?.fields?["prompt"] == first.requests[4]?.fields?["prompt"])
        #expect(second.requests[4]?.fields?["prompt"] != nil)
        #expect(second.requests[5]?.fields?["prompt"] == first.requests[5]?.fields?["prompt"])
        #expect(second.transcript.text == first.transcript.text)
    }

    @Test("An answer that skips ahead after its prompt is asked again without it; the transcript is the cold one, and it is counted")
    func skippedAhead() async throws {
        let plan = ChunkPlan(chunkSize: 15, overlap: 0.5)
        let cold = try await transcribe(workers: 2, contextChunks: 1, plan: plan)
        // Every prompted request is answered with its first and last segments only.
        let server = try OpenAITestServer(["--fault", "skipaheadx0"])
        defer { server.stop() }
        let outcome = try await transcribe(workers: 2, contextChunks: 5, server: server, plan: plan)
        let chunks = outcome.transcript.metadata.chunking.chunks
        #expect(chunks >= 4)
        let prompted = outcome.all.filter { $0.fields?["prompt"] != nil }
        #expect(prompted.count == chunks - 1, "every chunk but the first is prompted")
        // Each prompted request is followed by the same chunk without a prompt.
        for request in prompted {
            let again = outcome.all.filter { $0.filename == request.filename && $0.fields?["prompt"] == nil }
            #expect(again.count == 1, "\(request.filename ?? "?") asked again once, without the prompt")
        }
        #expect(outcome.all.count == chunks + prompted.count)
        #expect(outcome.transcript.metadata.guards?.skippedSpeech == prompted.count)
        #expect(outcome.transcript.words.map(\.text) == cold.transcript.words.map(\.text))
    }

    @Test("The preceding text is cut to 400 characters from its end, in whole words, after the user's prompt")
    func bounded() {
        let words = (1...200).map { "word\($0)" }.joined(separator: " ")
        let configuration = OpenAIEngine.Configuration(prompt: "Glossary: Okonkwo.")
        let prompt = try! #require(configuration.prompt(precedingText: words))
        #expect(prompt.hasPrefix("Glossary: Okonkwo. "))
        let tail = prompt.dropFirst("Glossary: Okonkwo. ".count)
        #expect(tail.count <= OpenAIEngine.Configuration.maxPrecedingCharacters)
        #expect(tail.count > OpenAIEngine.Configuration.maxPrecedingCharacters - 10)
        #expect(tail.hasSuffix("word200"))
        #expect(tail.split(separator: " ").allSatisfy { $0.hasPrefix("word") && Int($0.dropFirst(4)) != nil })
        #expect(configuration.prompt(precedingText: nil) == "Glossary: Okonkwo.")
        #expect(OpenAIEngine.Configuration().prompt(precedingText: "  ") == nil)
    }
}
