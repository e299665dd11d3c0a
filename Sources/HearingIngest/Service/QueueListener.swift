import Logging
import ServiceLifecycle

/// On a shared queue, unless `poll_only`: wakes this node's processor as soon as any node
/// queues a job or gives one back (``SharedJobQueue/listenForClaimableJobs(onConnect:wake:)``),
/// rather than at the next poll of the ``LeaseSweeper``. Each time listening (re)starts the
/// processor looks at the queue too, since notifications sent meanwhile are lost.
struct QueueListener: Service {
    let queue: any SharedJobQueue
    let doorbell: Doorbell

    func run() async throws {
        let doorbell = self.doorbell
        await cancelWhenGracefulShutdown {
            try? await queue.listenForClaimableJobs(onConnect: { doorbell.ring() }, wake: { doorbell.ring() })
        }
    }
}
