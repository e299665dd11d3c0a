import CPocketSphinx
import Foundation
import Synchronization

/// The embedded engine: CMU PocketSphinx through its C API, in process, no network.
public struct PocketSphinxEngine: TranscriptionEngine {
    /// The model files the decoders load.
    public var model: PocketSphinxModel
    /// Words each decoder adds to its dictionary and language model when they are not there,
    /// with their pronunciations: the vocabulary's own, else Flite's (``LetterToSound``).
    public let additions: [(word: String, phones: String)]
    /// The vocabulary the additions come from.
    public let vocabulary: Vocabulary?

    /// An engine for `model` (Debian's US English model by default) that expects the terms of
    /// `vocabulary`. Throws when a word of it has no pronunciation and Flite cannot make one.
    public init(model: PocketSphinxModel = PocketSphinxModel(), vocabulary: Vocabulary?) throws {
        self.model = model
        self.vocabulary = vocabulary
        additions = try (vocabulary?.words ?? []).map { entry in
            guard let phones = entry.pronunciation ?? LetterToSound.pronunciation(of: entry.word) else {
                throw HearingAIError(
                    .invalidOptions,
                    reason: "vocabulary: no pronunciation for '\(entry.word)'; give one as '\(entry.word) | PHONES'")
            }
            return (entry.word, phones)
        }
    }

    /// An engine for `model` (Debian's US English model by default).
    public init(model: PocketSphinxModel = PocketSphinxModel()) {
        self.model = model
        self.vocabulary = nil
        self.additions = []
    }

    public var name: String { "pocketsphinx" }

    public var modelDescription: String {
        "hmm=\(model.acousticModel) lm=\(model.languageModel) dict=\(model.dictionary)"
            + (vocabulary.map { " vocabulary=\($0.terms.count) terms" } ?? "")
    }

    /// Measured with Debian's en-us model (docs/memory-management.md): a decoder adds about
    /// 91 MB when created, then 7 MB on its first chunk and about 0.25 MB per second of the
    /// longest chunk it decodes. The figures here round those up.
    public var decoderCost: DecoderCost {
        DecoderCost(footprintBytes: 94 * 1_048_576, fixedGrowthBytes: 8 * 1_048_576, growthBytesPerSecond: 288 * 1024)
    }

    public func makeDecoder() async throws -> any ChunkDecoder {
        try model.validate()
        return try await PocketSphinxDecoder.make(model: model, additions: additions)
    }
}

/// A PocketSphinx decoder confined to a thread of its own.
final class PocketSphinxDecoder: ChunkDecoder {
    /// The C decoder. Only touched on `thread`, which serialises every call.
    private final class Handle: @unchecked Sendable {
        var decoder: OpaquePointer?
        var config: OpaquePointer?
        /// The decoder's live cepstral-mean state right after `ps_init` (the mean `-cmninit`
        /// gives, with no frames counted), restored whole before every chunk.
        var initialMean: [mfcc_t] = []
        var initialSum: [mfcc_t] = []
        var initialFrames: Int32 = 0
        /// A front end of its own, with the decoder's settings, that measures a chunk's
        /// cepstral mean without touching the decoder's front end.
        var probe: OpaquePointer?
        init() {}
    }

    private static let instances = Atomic<Int>(0)
    private static let silenceLogs: Void = { err_set_logfp(nil) }()

    private let thread: BlockingThread
    private let handle: Handle
    /// Frames per second of the decoder's feature stream (`-frate`).
    private let frameRate: Double

    private init(thread: BlockingThread, handle: Handle, frameRate: Double) {
        self.thread = thread
        self.handle = handle
        self.frameRate = frameRate
    }

    static func make(model: PocketSphinxModel, additions: [(word: String, phones: String)] = []) async throws -> PocketSphinxDecoder {
        let number = instances.add(1, ordering: .relaxed).newValue
        let thread = BlockingThread(name: "pocketsphinx-\(number)")
        let handle = Handle()
        do {
            let frameRate = try await thread.run {
                _ = silenceLogs
                // With a vocabulary the language model is loaded here, not by `ps_init`, so that
                // its words can join it first (``add(_:to:config:languageModel:)``).
                let args =
                    ["-hmm", model.acousticModel]
                    + (additions.isEmpty ? ["-lm", model.languageModel] : [])
                    + ["-dict", model.dictionary, "-samprate", String(ChunkPlan.sampleRate)]
                var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
                defer { argv.forEach { free($0) } }
                guard let config = cmd_ln_parse_r(nil, ps_args(), Int32(argv.count), &argv, 1) else {
                    throw HearingAIError(.engineUnavailable, reason: "PocketSphinx rejected its configuration")
                }
                guard let decoder = ps_init(config) else {
                    cmd_ln_free_r(config)
                    throw HearingAIError(.engineUnavailable, path: model.acousticModel, reason: "PocketSphinx could not load the model")
                }
                if !additions.isEmpty {
                    do {
                        try Self.add(additions, to: decoder, config: config, languageModel: model.languageModel)
                    } catch {
                        // Not yet in the handle, so `close()` would not free them.
                        ps_free(decoder)
                        cmd_ln_free_r(config)
                        throw error
                    }
                }
                handle.config = config
                handle.decoder = decoder
                if let cmn = ps_get_feat(decoder)?.pointee.cmn_struct {
                    let count = Int(cmn.pointee.veclen)
                    handle.initialMean = Array(UnsafeBufferPointer(start: cmn.pointee.cmn_mean, count: count))
                    handle.initialSum = Array(UnsafeBufferPointer(start: cmn.pointee.sum, count: count))
                    handle.initialFrames = cmn.pointee.nframe
                }
                handle.probe = fe_init_auto_r(config)
                return Double(cmd_ln_int_r(config, "-frate"))
            }
            return PocketSphinxDecoder(thread: thread, handle: handle, frameRate: frameRate > 0 ? frameRate : 100)
        } catch {
            thread.shutdown()
            throw error
        }
    }

    /// The class the vocabulary's words join in the language model.
    static let vocabularyClass = "[vocabulary]"
    /// Each vocabulary word's unigram probability, as a multiple of a uniform one (one over the
    /// model's vocabulary, about 134,000 words for Debian's en-us): a name the model has
    /// never seen is as likely as a word it has seen a few times.
    static let vocabularyBoost: Float = 8

    /// Adds the vocabulary's words the dictionary lacks to it, and the words the language model
    /// lacks to it as one class whose words are equally likely (``vocabularyBoost``), then
    /// makes that model the decoder's search. A class, not one unigram a word: the unigram
    /// route (`ps_add_word` on the model) corrupts sphinxbase 5prealpha's trie model when the
    /// eighth word is added, and the decoder crashes in `lm_trie_score` (docs/benchmarks.md).
    private static func add(
        _ additions: [(word: String, phones: String)], to decoder: OpaquePointer, config: OpaquePointer, languageModel: String
    ) throws {
        for addition in additions {
            if let known = ps_lookup_word(decoder, addition.word) {
                free(known)
                continue
            }
            // No language model is searched yet: this only reaches the dictionary.
            guard ps_add_word(decoder, addition.word, addition.phones, 0) >= 0 else {
                throw HearingAIError(
                    .invalidOptions, reason: "vocabulary: PocketSphinx refused '\(addition.word)' with phones '\(addition.phones)'")
            }
        }
        guard let lm = ngram_model_read(config, languageModel, NGRAM_AUTO, ps_get_logmath(decoder)) else {
            throw HearingAIError(.engineUnavailable, path: languageModel, reason: "PocketSphinx could not load the language model")
        }
        defer { _ = ngram_model_free(lm) }
        let unknown = ngram_unknown_wid(lm)
        let newWords = additions.map(\.word).filter { ngram_wid(lm, $0) == unknown }
        if !newWords.isEmpty {
            var words: [UnsafeMutablePointer<CChar>?] = newWords.map { strdup($0) }
            defer { words.forEach { free($0) } }
            let weights = [Float](repeating: 1, count: newWords.count)
            let added = words.withUnsafeMutableBufferPointer { pointers in
                ngram_model_add_class(
                    lm, vocabularyClass, vocabularyBoost * Float(newWords.count), pointers.baseAddress, weights, Int32(newWords.count))
            }
            guard added >= 0 else {
                throw HearingAIError(.invalidOptions, reason: "vocabulary: the language model refused its words")
            }
        }
        guard ps_set_lm(decoder, "vocabulary", lm) == 0, ps_set_search(decoder, "vocabulary") == 0 else {
            throw HearingAIError(.engineUnavailable, path: languageModel, reason: "PocketSphinx could not search the language model")
        }
    }

    func decode(_ chunk: Chunk, run: DecodingRun) async throws -> DecodedChunk {
        let handle = self.handle
        let frameRate = self.frameRate
        let samples = chunk.samples
        let index = chunk.index
        let words = try await thread.run {
            guard let ps = handle.decoder else {
                throw HearingAIError(.engineFailed, reason: "decoder is closed")
            }
            // Live cepstral mean normalisation carries its estimate from one utterance to the
            // next. A pooled decoder would carry it from whichever chunk it decoded last, so the
            // result would depend on scheduling: every chunk starts from the decoder's state
            // right after `ps_init`, as `pocketsphinx_continuous` starts a file. All of it:
            // `cmn_live_set` would also count the initial mean as 500 frames of speech
            // (sphinxbase 5prealpha), which slows the adaptation and cost words against the raw
            // engine on most voices.
            //
            // A chunk after the first starts where the raw engine would have adapted to the
            // recording already, so it starts from the mean of its own speech instead, counted
            // as at most a window's worth of frames so that live updates go on as usual.
            // Starting cold cost up to 29 points of WER on reverberant speech with 10 s chunks
            // (docs/benchmarks.md).
            if let cmn = ps_get_feat(ps)?.pointee.cmn_struct, !handle.initialMean.isEmpty {
                let count = Int(cmn.pointee.veclen)
                if index > 0, let probe = handle.probe, let speech = Self.speechCepstralMean(samples, probe: probe, count: count) {
                    let frames = min(speech.frames, Self.cmnWindow)
                    cmn.pointee.cmn_mean.update(from: speech.mean, count: count)
                    cmn.pointee.sum.update(from: speech.mean.map { $0 * mfcc_t(frames) }, count: count)
                    cmn.pointee.nframe = Int32(frames)
                } else {
                    cmn.pointee.cmn_mean.update(from: handle.initialMean, count: count)
                    cmn.pointee.sum.update(from: handle.initialSum, count: count)
                    cmn.pointee.nframe = handle.initialFrames
                }
            }
            return try Self.decode(samples, with: ps, frameRate: frameRate, chunkIndex: index)
        }
        return DecodedChunk(words: words)
    }

    /// The frames after which sphinxbase's live normalisation shifts its window back to
    /// `CMN_WIN` (500) frames.
    private static let cmnWindow = 500

    /// The mean cepstrum of the frames the front end's voice detector keeps from `samples`
    /// (the frames live normalisation would have counted), and how many there were; nil when
    /// it keeps none.
    private static func speechCepstralMean(_ samples: [Int16], probe: OpaquePointer, count: Int) -> (mean: [mfcc_t], frames: Int)? {
        guard Int(fe_get_output_size(probe)) == count else { return nil }
        fe_start_stream(probe)
        guard fe_start_utt(probe) == 0 else { return nil }
        let rows = 256
        let buffer = UnsafeMutablePointer<mfcc_t>.allocate(capacity: rows * count)
        let rowPointers = UnsafeMutablePointer<UnsafeMutablePointer<mfcc_t>?>.allocate(capacity: rows)
        defer {
            buffer.deallocate()
            rowPointers.deallocate()
        }
        for row in 0..<rows { rowPointers[row] = buffer + row * count }
        var sum = [Double](repeating: 0, count: count)
        var frames = 0
        func add(_ produced: Int) {
            for row in 0..<produced {
                for dimension in 0..<count { sum[dimension] += Double(buffer[row * count + dimension]) }
            }
            frames += produced
        }
        samples.withUnsafeBufferPointer { audio in
            var next: UnsafePointer<Int16>? = audio.baseAddress
            var remaining = audio.count
            while remaining > 0 {
                var produced = Int32(rows)
                let before = remaining
                guard fe_process_frames(probe, &next, &remaining, rowPointers, &produced, nil) >= 0 else { return }
                add(Int(produced))
                if produced == 0, remaining == before { break }
            }
        }
        var last: Int32 = 0
        if fe_end_utt(probe, buffer, &last) >= 0 { add(Int(last)) }
        guard frames > 0 else { return nil }
        return (sum.map { mfcc_t($0 / Double(frames)) }, frames)
    }

    /// Decodes like `pocketsphinx_continuous`: one stream, cut into utterances where the
    /// decoder's voice activity detector hears the end of speech.
    private static func decode(_ samples: [Int16], with ps: OpaquePointer, frameRate: Double, chunkIndex: Int) throws -> [Word] {
        var words: [Word] = []
        guard ps_start_stream(ps) >= 0, ps_start_utt(ps) >= 0 else {
            throw HearingAIError(.engineFailed, reason: "PocketSphinx could not start chunk \(chunkIndex)")
        }
        var inUtterance = false
        let block = 2048
        try samples.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = min(block, buffer.count - offset)
                if ps_process_raw(ps, buffer.baseAddress! + offset, count, 0, 0) < 0 {
                    throw HearingAIError(.engineFailed, reason: "PocketSphinx failed on chunk \(chunkIndex)")
                }
                offset += count
                let inSpeech = ps_get_in_speech(ps) != 0
                if inSpeech, !inUtterance {
                    inUtterance = true
                } else if !inSpeech, inUtterance {
                    ps_end_utt(ps)
                    words += collectWords(ps, frameRate: frameRate)
                    ps_start_utt(ps)
                    inUtterance = false
                }
            }
        }
        ps_end_utt(ps)
        if inUtterance { words += collectWords(ps, frameRate: frameRate) }
        return words
    }

    private static func collectWords(_ ps: OpaquePointer, frameRate: Double) -> [Word] {
        var words: [Word] = []
        let logmath = ps_get_logmath(ps)
        var segment = ps_seg_iter(ps)
        while let current = segment {
            if let raw = ps_seg_word(current) {
                let spelled = String(cString: raw)
                if let text = normalizedWord(spelled) {
                    var startFrame: Int32 = 0
                    var endFrame: Int32 = 0
                    ps_seg_frames(current, &startFrame, &endFrame)
                    let posterior = ps_seg_prob(current, nil, nil, nil)
                    let confidence = min(1, max(0, logmath_exp(logmath, posterior)))
                    words.append(
                        Word(
                            text: text,
                            start: Double(startFrame) / frameRate,
                            end: Double(endFrame + 1) / frameRate,
                            confidence: confidence))
                }
            }
            segment = ps_seg_next(current)
        }
        return words
    }

    /// Drops silence and filler tokens (`<s>`, `<sil>`, `[noise]`) and pronunciation
    /// variant markers (`to(3)` becomes `to`).
    static func normalizedWord(_ spelled: String) -> String? {
        if spelled.hasPrefix("<") || spelled.hasPrefix("[") || spelled.hasPrefix("++") { return nil }
        if let paren = spelled.firstIndex(of: "("), spelled.hasSuffix(")") {
            return String(spelled[..<paren])
        }
        return spelled
    }

    func close() {
        let handle = self.handle
        // Free on the owning thread, after any decode in flight, then end the thread.
        thread.shutdown {
            if let decoder = handle.decoder { ps_free(decoder) }
            if let config = handle.config { cmd_ln_free_r(config) }
            if let probe = handle.probe { fe_free(probe) }
            handle.probe = nil
            handle.decoder = nil
            handle.config = nil
        }
    }

    deinit {
        close()
    }
}
