/// Something the pipeline creates that holds memory worth tracking: a service with decoders,
/// a cache, buffers. The ``ResourceManager`` keeps a list of them and runs their cleanup.
///
/// `TranscriptionService` and `ReconciliationService` are resources; a diarization service
/// registers the same way.
public protocol ManagedResource: AnyObject, Sendable {
    /// A name for logs, such as "transcription(pocketsphinx)".
    var resourceName: String { get }
    /// Bytes the resource holds now, as far as it knows.
    func footprintBytes() async -> Int
    /// Frees what is not in use (idle decoders, caches), keeping the resource usable.
    func releaseIdle() async
    /// Frees caches and buffers but keeps what the next job needs warm (a decoder pool's idle
    /// decoders): cleanup between files. Resources with nothing to keep warm free what
    /// ``releaseIdle()`` frees.
    func releaseCaches() async
    /// Runs less at once, to bring memory down under pressure.
    func throttle() async
    /// Frees everything. The resource is unusable afterwards.
    func close() async
}

extension ManagedResource {
    /// Nothing to keep warm: the same as ``releaseIdle()``.
    public func releaseCaches() async {
        await releaseIdle()
    }

    /// Resources that cannot run less at once ignore throttling.
    public func throttle() async {}
}
