import HearingAI

/// The form fields of a transcription or job request, checked against what the service does.
///
/// `model` and `temperature` are accepted and ignored: the service's configured engine
/// transcribes. `language` must be the service's own (English for the embedded engine; the
/// configured `openai_language` if one is set): a transcript in another language cannot be
/// had from this service, so asking for one is an error rather than a silent substitute.
/// A per-request `prompt` is refused for the same reason (it would not be used). `stream` is
/// not offered.
struct TranscriptionOptions {
    var format: OpenAIResponseFormat
    /// The language named in `verbose_json`.
    var language: String
    var words: Bool
    var segments: Bool

    init(form: MultipartUpload, pipeline: PipelineConfiguration) throws {
        let formatName = form.field("response_format") ?? "json"
        guard let format = OpenAIResponseFormat(rawValue: formatName) else {
            throw APIError.badRequest(
                "invalid_response_format",
                "response_format '\(formatName)' is not one of \(OpenAIResponseFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.format = format
        let granularities = (form.fields["timestamp_granularities[]"] ?? []) + (form.fields["timestamp_granularities"] ?? [])
        for granularity in granularities where granularity != "word" && granularity != "segment" {
            throw APIError.badRequest("invalid_timestamp_granularity", "timestamp_granularities '\(granularity)' is not word or segment")
        }
        words = granularities.contains("word")
        segments = granularities.isEmpty || granularities.contains("segment")

        let served = Self.servedLanguage(pipeline)
        if let asked = form.field("language")?.lowercased(), let served, !Self.sameLanguage(asked, served) {
            throw APIError.badRequest(
                "unsupported_language", "this service transcribes '\(served)'; language '\(asked)' cannot be served")
        }
        language = Self.names[served ?? ""] ?? served ?? form.field("language") ?? "unknown"
        if form.field("prompt") != nil {
            throw APIError.badRequest(
                "unsupported_prompt", "per-request prompts are not supported; the service's engine settings (openai_prompt) apply")
        }
        if let stream = form.field("stream"), stream.lowercased() == "true" {
            throw APIError.badRequest("unsupported_stream", "streamed responses are not supported; the response comes when the job is done")
        }
    }

    /// The language the service transcribes: English for the embedded engine, the configured
    /// one for others, nil when the engine detects it.
    static func servedLanguage(_ pipeline: PipelineConfiguration) -> String? {
        if pipeline.engine.name == PocketSphinxEngine.Factory.name { return "en" }
        return pipeline.engine.settings["openai_language"]?.description.lowercased()
    }

    static func sameLanguage(_ a: String, _ b: String) -> Bool {
        func base(_ code: String) -> String {
            let lowered = code.lowercased()
            if let name = names.first(where: { $0.value == lowered })?.key { return name }
            return String(lowered.prefix(while: { $0 != "-" && $0 != "_" }))
        }
        return base(a) == base(b)
    }

    /// ISO-639-1 codes and the names OpenAI's `verbose_json` uses, for the languages an
    /// engine here is likely to serve.
    static let names: [String: String] = [
        "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "nl": "dutch", "pt": "portuguese",
        "ru": "russian", "zh": "chinese", "ja": "japanese",
    ]
}
