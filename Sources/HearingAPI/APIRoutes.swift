import Foundation
import HTTPTypes
import HearingAI
import HearingIngest
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// The API's routes. Every error is JSON (``APIError``); every route but the health probes
/// needs a token when tokens are configured.
///
/// - `POST /v1/audio/transcriptions`: OpenAI's transcription endpoint. The upload becomes a
///   job ahead of the inbox's; the response is the transcript once the job is done. A client
///   that goes away cancels its job.
/// - `POST /v1/jobs` → 202 and the job; `GET /v1/jobs[?state=&limit=&before=]`;
///   `GET /v1/jobs/ID`; `GET /v1/jobs/ID/transcript.{txt,json,srt,vtt,md}`;
///   `POST /v1/jobs/ID/retry`; `DELETE /v1/jobs/ID` (cancel a queued or running job, forget
///   one that has ended).
/// - `GET /healthz`, `GET /readyz`, and `GET /metrics` when metrics are kept.
struct APIRoutes: Sendable {
    typealias Context = BasicRequestContext
    let access: IngestAccess
    let configuration: APIConfiguration
    let metrics: (@Sendable () async -> String)?

    func router() -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: TokenAuthenticator(tokens: configuration.tokens))
        router.post("/v1/audio/transcriptions") { request, context in try await transcribe(request, context: context) }
        router.post("/v1/jobs") { request, _ in try await createJob(request) }
        router.get("/v1/jobs") { request, _ in try await listJobs(request) }
        router.get("/v1/jobs/:id") { _, context in try json(JobResource(try await job(context))) }
        router.get("/v1/jobs/:id/:file") { _, context in try await transcriptFile(context) }
        router.post("/v1/jobs/:id/retry") { _, context in try await retry(context) }
        router.delete("/v1/jobs/:id") { _, context in try await delete(context) }
        router.get("/healthz") { _, _ in try json(["status": "ok"]) }
        router.get("/readyz") { _, _ in try await ready() }
        if let metrics {
            router.get("/metrics") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: await metrics())))
            }
        }
        return router
    }

    // MARK: - OpenAI-compatible transcription

    /// Whether the client of a transcription request went away.
    private final class ClientGone: Sendable {
        let gone = Atomic(false)
    }

    /// Answers with `Connection: close`, the transcript or the JSON error alike: watching for
    /// the client to go away (Hummingbird's inbound-close handler) ends the connection after the
    /// response, and a client told nothing would send its next request down the closing
    /// connection ("server disconnected without sending a response", seen with OpenAI's client).
    private func transcribe(_ request: Request, context: Context) async throws -> Response {
        var response: Response
        do {
            response = try await transcribeWatchingClient(request, context: context)
        } catch let error as CancellationError {
            throw error  // the client went away: nobody to answer
        } catch {
            response = try APIError(answering: error, logger: context.logger).response(from: request, context: context)
        }
        response.headers[.connection] = "close"
        return response
    }

    private func transcribeWatchingClient(_ request: Request, context: Context) async throws -> Response {
        let clientGone = ClientGone()
        return try await request.body.consumeWithInboundCloseHandler { body in
            let form = try await MultipartUpload.receive(
                request, body: body, uploads: access.uploads, maxBytes: configuration.maxUploadBytes)
            let options: TranscriptionOptions
            do {
                options = try TranscriptionOptions(form: form, pipeline: access.configuration.pipeline)
            } catch {
                await form.upload.abandon()
                throw error
            }
            let queued = try await form.upload.finish(name: Uploads.jobName(from: form.fileName))
            let id = queued.id ?? 0
            let ended = try await waitForEnd(id) { clientGone.gone.load(ordering: .relaxed) }
            guard ended.state == .done, let transcript = try await access.transcript(of: ended) else {
                throw APIError(
                    .badRequest, code: "transcription_failed",
                    "\(ended.fileName): \(ended.lastError ?? "the transcript is not available") (job \(id))")
            }
            let (text, contentType) = try options.format.render(
                transcript, language: options.language, words: options.words, segments: options.segments,
                subtitles: access.configuration.pipeline.subtitleStyle)
            var headers = HTTPFields()
            headers[.contentType] = contentType
            headers[HTTPField.Name("X-HearingAI-Job")!] = "\(id)"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        } onInboundClosed: {
            clientGone.gone.store(true, ordering: .relaxed)
        }
    }

    /// Waits until job `id` ends, checking often at first and then every quarter second. If
    /// `clientGone` turns true, the job is cancelled; if the service begins to stop, the
    /// client is told where to find the job later (it stays queued).
    private func waitForEnd(_ id: Int64, clientGone: @Sendable () -> Bool) async throws -> Job {
        var delay = Duration.milliseconds(20)
        while true {
            guard let job = try await access.queue.job(id) else { throw APIError.noSuchJob("\(id)") }
            if job.state == .done || job.state == .failed { return job }
            if clientGone() {
                _ = try await access.cancel(id)
                access.logger.info("Client went away; job cancelled", metadata: ["job.id": "\(id)"])
                throw CancellationError()
            }
            if Task.isShuttingDownGracefully {
                throw APIError(
                    .serviceUnavailable, code: "shutting_down",
                    "the service is stopping; job \(id) stays queued and is transcribed when it is back: GET /v1/jobs/\(id)")
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(250))
        }
    }

    // MARK: - Jobs

    private func createJob(_ request: Request) async throws -> Response {
        let form = try await MultipartUpload.receive(request, uploads: access.uploads, maxBytes: configuration.maxUploadBytes)
        do {
            _ = try TranscriptionOptions(form: form, pipeline: access.configuration.pipeline)
        } catch {
            await form.upload.abandon()
            throw error
        }
        let job = try await form.upload.finish(name: Uploads.jobName(from: form.fileName))
        var response = try json(JobResource(job), status: .accepted)
        response.headers[.location] = "/v1/jobs/\(job.id ?? 0)"
        return response
    }

    private func listJobs(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var state: Job.State?
        if let name = query["state"].map(String.init), !name.isEmpty {
            guard let parsed = Job.State(rawValue: name) else {
                throw APIError.badRequest(
                    "invalid_state", "unknown state '\(name)' (choose from \(Job.State.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            state = parsed
        }
        let limit = min(max(query["limit"].flatMap { Int(String($0)) } ?? 50, 1), 500)
        let before = query["before"].flatMap { Int64(String($0)) }
        let jobs = try await access.queue.jobs(state: state, before: before, limit: limit + 1)
        let page = Array(jobs.prefix(limit))
        var next: String?
        if jobs.count > limit, let last = page.last?.id {
            next = "/v1/jobs?limit=\(limit)&before=\(last)" + (state.map { "&state=\($0.rawValue)" } ?? "")
        }
        return try json(JobList(data: page.map(JobResource.init), has_more: next != nil, next: next))
    }

    private func job(_ context: Context) async throws -> Job {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), let job = try await access.queue.job(id) else { throw APIError.noSuchJob(text) }
        return job
    }

    private func transcriptFile(_ context: Context) async throws -> Response {
        let file = context.parameters.get("file") ?? ""
        guard file.hasPrefix("transcript."), let format = TranscriptFormat(rawValue: String(file.dropFirst("transcript.".count))) else {
            throw APIError(
                .notFound, code: "not_found",
                "no such resource; transcripts are transcript.{\(TranscriptFormat.allCases.map(\.rawValue).joined(separator: ","))}")
        }
        let job = try await job(context)
        guard job.state == .done else {
            throw APIError(
                .conflict, code: "job_not_done", "job \(job.id ?? 0) is \(job.state.rawValue); its transcript comes when it is done")
        }
        guard let transcript = try await access.transcript(of: job) else {
            throw APIError(
                .gone, code: "transcript_gone", "job \(job.id ?? 0)'s transcript is no longer stored (the settings changed); see the outbox"
            )
        }
        var headers = HTTPFields()
        headers[.contentType] = Self.contentTypes[format] ?? "text/plain; charset=utf-8"
        return Response(
            status: .ok, headers: headers,
            body: .init(
                byteBuffer: ByteBuffer(string: try transcript.rendered(as: format, subtitles: access.configuration.pipeline.subtitleStyle)))
        )
    }

    private static let contentTypes: [TranscriptFormat: String] = [
        .txt: "text/plain; charset=utf-8", .json: "application/json", .srt: "application/x-subrip; charset=utf-8",
        .vtt: "text/vtt; charset=utf-8", .md: "text/markdown; charset=utf-8",
    ]

    private func retry(_ context: Context) async throws -> Response {
        let job = try await job(context)
        guard job.state == .failed else {
            throw APIError(
                .conflict, code: "job_not_failed", "job \(job.id ?? 0) is \(job.state.rawValue); only failed jobs can be retried")
        }
        do {
            try await access.retry(job.id ?? 0)
        } catch let error as HearingAIError {
            throw APIError(.conflict, code: "retry_failed", error.description)
        }
        return try json(JobResource(try await self.job(context)), status: .accepted)
    }

    private func delete(_ context: Context) async throws -> Response {
        let job = try await job(context)
        let id = job.id ?? 0
        switch job.state {
        case .queued, .running:
            guard let cancelled = try await access.cancel(id) else { throw APIError.noSuchJob("\(id)") }
            return try json(JobResource(cancelled), status: .accepted)
        case .done, .failed:
            guard try await access.queue.forget(id) else { throw APIError.noSuchJob("\(id)") }
            return try json(Deleted(id: id))
        }
    }

    private struct Deleted: Encodable {
        var id: Int64
        var object = "job"
        var deleted = true
    }

    // MARK: - Health

    private func ready() async throws -> Response {
        var problems: [String] = []
        do {
            _ = try await access.queue.counts()
        } catch {
            problems.append("the queue database cannot be read")
        }
        if !access.health.isReady() { problems.append("the inbox \(access.configuration.inbox) is missing") }
        if Task.isShuttingDownGracefully { problems.append("the service is stopping") }
        guard problems.isEmpty else {
            throw APIError(.serviceUnavailable, code: "not_ready", problems.joined(separator: "; "))
        }
        return try json(["status": "ready"])
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }
}
