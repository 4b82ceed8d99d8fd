// FastCGI.Request(params:body:) and the CGIParameters it reads: the path, the query string and a form body.
//
// Input: FastCGI parameters, one `NAME=value` a line (`REQUEST_URI=/notify?a=1`, `QUERY_STRING=a=1`,
// `CONTENT_TYPE=application/x-www-form-urlencoded`, ...; a name given again replaces the earlier value), then
// an empty line, then the body (any bytes).
//
// Invariants:
// - CGIParameters holds the last value set for each name, by byte-exact name, and iterates over exactly those;
// - a request that is refused is a 400; one that is accepted has the method, raw path, query and form
//   the parameters say, every path segment is the decoded raw segment, and the segments, encoded again, make a
//   path that parses to the same segments;
// - header(_:) finds every `HTTP_*` parameter by its header name.
import FastCGI
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = bytes(data, count)
    var params = CGIParameters()
    var model: [(name: String, value: String)] = []
    var position = 0
    var body: [UInt8] = []
    while position <= input.count {
        let end = input[position...].firstIndex(of: UInt8(ascii: "\n")) ?? input.count
        if end == position {
            // An empty line: the rest is the body.
            body = Array(input[min(end + 1, input.count)...])
            break
        }
        let line = input[position..<end]
        position = end + 1
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
        let name = String(decoding: line[..<equals], as: UTF8.self)
        let value = String(decoding: line[(equals + 1)...], as: UTF8.self)
        params[name] = value
        model.removeAll { same($0.name, name) }
        model.append((name, value))
    }
    checkParameters(params, model)

    let request: Request
    do {
        request = try Request(params: params, body: body)
    } catch {
        note("refused: \(error.message)")
        invariant(error.status == .badRequest, "a malformed request is \(error.status), not 400: \(error.message)")
        return 0
    }
    note("\(request.method) \(request.pathSegments) query: \(request.query.pairs.count) form: \(request.form.pairs.count)")
    checkRequest(request, params: params, body: body)
    return 0
}

private func checkParameters(_ params: CGIParameters, _ model: [(name: String, value: String)]) {
    for (name, value) in model {
        invariant(same(params[name], value), "params[\(show(name))] = \(params[name].map(show) ?? "nil"), was set to \(show(value))")
    }
    let listed = Array(params).map { (name: $0.name, value: $0.value) }
    invariant(same(listed, model), "CGIParameters lists \(listed.count) entries, \(model.count) were set, or they differ")
}

private func checkRequest(_ request: Request, params: CGIParameters, body: [UInt8]) {
    invariant(same(request.method, params["REQUEST_METHOD"] ?? "GET"), "method")
    let uri = params["REQUEST_URI"] ?? params["DOCUMENT_URI"] ?? "/"
    let rawPath = String(decoding: uri.utf8.prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self)
    invariant(same(request.rawPath, rawPath), "rawPath \(show(request.rawPath)) for the URI \(show(uri))")

    // Every non-empty segment, decoded.
    let raw = rawPath.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
    invariant(raw.count == request.pathSegments.count, "\(request.pathSegments.count) segments for \(show(rawPath))")
    for (rawSegment, segment) in zip(raw, request.pathSegments) {
        let expected = try? URLEncoding.decode(Substring(String(decoding: rawSegment, as: UTF8.self)), plusIsSpace: false)
        invariant(same(expected, segment), "segment \(show(segment)) for \(show(String(decoding: rawSegment, as: UTF8.self)))")
    }
    // The segments, encoded again, make a path with the same segments.
    let path = "/" + request.pathSegments.map(URLEncoding.encodePathSegment).joined(separator: "/")
    do {
        let again = try Request(params: ["REQUEST_URI": path])
        invariant(again.pathSegments.count == request.pathSegments.count
                  && zip(again.pathSegments, request.pathSegments).allSatisfy(same),
                  "the segments of \(show(rawPath)), encoded as \(show(path)), parse differently")
    } catch {
        fail("the segments of \(show(rawPath)), encoded as \(show(path)), do not parse: \(error.message)")
    }

    if let query = params["QUERY_STRING"], !query.isEmpty {
        let expected = try? URLEncoding.parseForm(Substring(query))
        invariant(expected.map { same($0.pairs, request.query.pairs) } ?? false, "query for \(show(query))")
    } else {
        invariant(request.query.isEmpty, "a query without QUERY_STRING")
    }

    invariant(request.body == body, "the body changed")
    let contentType = params["CONTENT_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
    invariant(same(request.contentType, contentType), "contentType")
    if let contentType, Request.mediaType(contentType) == "application/x-www-form-urlencoded" {
        let expected = String(validating: body, as: UTF8.self).flatMap { try? URLEncoding.parseForm(Substring($0)) }
        invariant(expected.map { same($0.pairs, request.form.pairs) } ?? false, "form for the body")
    } else {
        invariant(request.form.isEmpty, "a form without a form content type")
    }

    // Header lookups: `HTTP_USER_AGENT` is header("User-Agent") and header("user-agent").
    for (name, value) in params where name.hasPrefix("HTTP_") && name.utf8.count > 5
        && name.utf8.allSatisfy({ ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }) {
        let header = String(name.dropFirst(5)).lowercased().replacing("_", with: "-")
        invariant(same(request.header(header), value), "header(\(show(header))) for \(show(name))")
    }
}
