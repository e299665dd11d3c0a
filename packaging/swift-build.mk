# The one release build, shared by the tests and the Debian package (make and debian/rules
# include this file): optimised as users get it; testing enabled, because the test targets
# import the libraries with @testable; debug information, for the dbgsym package; and the
# package's hardened link. The executable is linked a second time with the Swift runtime
# static (the package depends only on Debian's libraries); the test bundles cannot be.
SWIFT_FLAGS := -c release -Xswiftc -enable-testing -Xswiftc -g \
	-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now
SWIFT_STATIC_FLAGS := --static-swift-stdlib --product hearingai
