// DRF's PageNumberPagination over Django's Paginator, as the admin list uses it: `?page=` (from 1, or
// "last"), `?page_size=` (capped), and the next/previous links, relative to the host (issue 15,
// finding 8): DRF builds absolute URLs from the Host header, which the client chooses, so a link
// could point at any host; a path and query resolve against the URL the client asked, and no more.
import type { FastifyRequest } from 'fastify'
import { ApiError } from '../../src/domain/errors.js'
import { ADMIN_MAX_PAGE_SIZE, ADMIN_PAGE_SIZE } from '../../src/schemas/admin-users.js'

export const INVALID_PAGE = { detail: 'Invalid page.' }

/** One slice of the results and how many there are in all. */
export interface Slice<T> { count: number, results: T[] }
/** DRF's paginated answer. */
export interface Page<T> { count: number, next: string | null, previous: string | null, results: T[] }

/** Python's int() of a query value, or undefined. */
function parseInteger (value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*[+-]?\d+\s*$/.test(value)) return undefined
  const n = Number(value.trim())
  return Number.isSafeInteger(n) ? n : undefined
}

/** get_page_size: `?page_size=` when a positive integer, at most the cap; otherwise the default. */
function pageSize (raw: string | undefined): number {
  const requested = parseInteger(raw)
  return requested === undefined || requested < 1 ? ADMIN_PAGE_SIZE : Math.min(requested, ADMIN_MAX_PAGE_SIZE)
}

/** A base for parsing the request's path; never part of a link. */
const NO_HOST = 'http://invalid'

/** DRF's replace_query_param / remove_query_param on the request's path and query, keys sorted. */
function pageUrl (request: FastifyRequest, page: number | undefined): string {
  const url = new URL(request.url, NO_HOST)
  if (page === undefined) url.searchParams.delete('page')
  else url.searchParams.set('page', String(page))
  url.searchParams.sort()
  // One leading slash: `//host/…` would be a link to another host.
  return `${url.pathname.replace(/^\/+/, '/')}${url.search}`
}

/**
 * paginate_queryset and get_paginated_response: the requested page of `fetch`'s results, or 404
 * "Invalid page." for a page that is not a number or out of range. Django's Paginator counts pages
 * from 1, knows "last", and an empty first page is still a page.
 */
export async function paginate<T> (request: FastifyRequest, query: { page?: string, page_size?: string }, fetch: (limit: number, offset: number) => Promise<Slice<T>>): Promise<Page<T>> {
  const { page: rawPage, page_size: rawSize } = query
  const size = pageSize(rawSize)
  let page = rawPage === undefined ? 1 : rawPage === 'last' ? undefined : parseInteger(rawPage)
  if ((rawPage !== undefined && rawPage !== 'last' && page === undefined) || (page !== undefined && page < 1)) throw new ApiError(404, INVALID_PAGE)
  let result = await fetch(size, ((page ?? 1) - 1) * size)
  const pages = Math.max(1, Math.ceil(result.count / size))
  if (page === undefined) {
    page = pages
    result = await fetch(size, (page - 1) * size)
  }
  if (page < 1 || page > pages) throw new ApiError(404, INVALID_PAGE)
  return {
    count: result.count,
    next: page < pages ? pageUrl(request, page + 1) : null,
    previous: page > 1 ? pageUrl(request, page === 2 ? undefined : page - 1) : null,
    results: result.results
  }
}
