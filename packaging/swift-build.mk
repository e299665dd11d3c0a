# The one release build, shared by the tests and the Debian package (make and debian/rules
# include this file): optimised as users get it; testing enabled, because the test targets
# import the libraries with @testable; debug information, for the dbgsym package; and the
# package's hardened link. The executable is then linked again with the Swift runtime static
# (the package depends only on Debian's libraries): HEARINGAI_STATIC_LINK changes only that
# link (Package.swift), so nothing is compiled twice.
SWIFT_FLAGS := -c release -Xswiftc -enable-testing -Xswiftc -g \
	-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now
SWIFT_STATIC := HEARINGAI_STATIC_LINK=1
SWIFT_STATIC_FLAGS := --product hearingai
