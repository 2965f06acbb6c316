# Library: a public library system's circulation desk and programmes.
domain library
about public library system: branches, patrons, authors, books and copies, loans, holds, fines, events and registrations, study rooms and purchase requests
brand Riverbend Public Library | Alder County Libraries | Hearthstone Library | Eastbrook Library District | Lantern Hill Library

table branches branch core rows 3-6 create
  label name pick(Central Library|Maple Grove Branch|Riverside Branch|Oakwood Branch|Hillside Branch|Northside Branch|Lakeview Branch|Eastgate Branch|Cedar Park Branch|Willow Creek Branch)
  col meeting_rooms int(0,6) opt
  col phone phone opt edit
  col opening_time pick(08:00|09:00|10:00) opt edit
  col has_makerspace bool opt
  status status open:5 closed_for_renovation:1
  action close "close {it} for renovation" open -> closed_for_renovation
  action reopen "reopen {it}" closed_for_renovation -> open

table patrons patron core rows 20-36 create
  label full_name person
  col email email
  col card_number code(CARD)
  col phone phone opt edit
  ref home_branch_id branches
  col card_type enum(adult,child,teen,senior,student)
  col newsletter bool opt edit
  status status active:8 blocked:1 expired:1
  action block "block the library card of {it}" active -> blocked
  action unblock "unblock the library card of {it}" blocked -> active
  action renew "renew the expired library card of {it}" expired -> active

table authors author rows 6-14 create
  label full_name person
  col nationality pick(American|British|Canadian|Irish|Nigerian|Indian|Australian|French|Japanese) opt
  col birth_year int(1920,1995) opt

table books book core rows 20-36 create
  label title combo(The Quiet|A Winter|The Glass|Beneath the|The Forgotten|Letters from the|The Salt|Songs of the|The Paper|Under the|The Long|A House by the ; Garden|River|Orchard|Lighthouse|Mountain|Harbor|Forest|Kingdom|Archive|Island|Meadow|Comet)
  ref author_id authors opt
  col isbn code(ISBN)
  col format enum(hardcover,paperback,audiobook,large_print)
  col genre enum(fiction,mystery,science_fiction,biography,history,children,young_adult,poetry,self_help)
  col publication_year int(1950,2025) opt
  col copies_available int(0,8)
  col shelf_location pick(Fiction A-F|Fiction G-M|Fiction N-Z|Nonfiction 100-399|Nonfiction 400-699|Nonfiction 700-999|Children's Corner|Teen Zone) opt edit
  status status circulating:8 in_repair:1 withdrawn:1
  action send_for_repair "send {it} for repair" circulating -> in_repair
  action restore "return {it} to circulation" in_repair -> circulating
  action withdraw "withdraw {it} from circulation" circulating,in_repair -> withdrawn

table loans loan core rows 28-48 create
  label loan_number code(LN)
  ref patron_id patrons
  ref book_id books consumes copies_available by copies
  col copies int(1,2)
  col checked_out_at past(40)
  col due_date futuredate(21) opt
  col renewals int(0,2) opt
  status status checked_out:6 overdue:2 returned:5 lost:1
  action check_in "check in {it} as returned" checked_out,overdue -> returned
  action mark_overdue "mark {it} as overdue" checked_out -> overdue
  action mark_lost "declare {it} lost" checked_out,overdue -> lost

table holds hold core rows 12-24 create delete
  label hold_code code(HLD)
  ref patron_id patrons
  ref book_id books
  ref pickup_branch_id branches
  col placed_at past(30)
  col queue_position int(1,8) opt
  status status waiting:5 ready_for_pickup:2 fulfilled:2 cancelled:1
  action mark_ready "mark {it} as ready for pickup" waiting -> ready_for_pickup
  action fulfill "mark {it} as picked up" ready_for_pickup -> fulfilled
  action cancel "cancel {it}" waiting,ready_for_pickup -> cancelled

table fines fine rows 8-18 create
  label fine_number code(FN)
  ref patron_id patrons
  ref loan_id loans opt
  col amount money(1,45)
  col reason enum(overdue,lost_item,damaged_item,replacement_card)
  col assessed_on pastdate(90)
  status status unpaid:5 paid:4 waived:1
  action pay "record payment of {it}" unpaid -> paid
  action waive "waive {it}" unpaid -> waived

table events event rows 4-10 create delete
  label title combo(Toddler|Teen|Family|Senior|Adult|Community ; Story Time|Book Club|Coding Club|Craft Hour|Author Talk|Film Night|Chess Club|Writing Workshop)
  ref branch_id branches
  col starts_at future(30)
  col seats_left int(0,60)
  col audience enum(children,teens,adults,all_ages) opt
  status status scheduled:5 cancelled:1
  action cancel "cancel {it}" scheduled -> cancelled
  action reinstate "put {it} back on the calendar" cancelled -> scheduled

table event_registrations event_registration rows 6-16 create
  label registration_code code(REG)
  ref event_id events consumes seats_left by attendees
  ref patron_id patrons
  col attendees int(1,4)
  col registered_at past(14)
  status status registered:6 cancelled:1
  action cancel "cancel {it}" registered -> cancelled
  action reinstate "reinstate {it}" cancelled -> registered

table rooms room rows 3-7 create
  label name pick(Study Room 1|Study Room 2|Study Room 3|Study Room 4|Quiet Room|Media Lab|Community Room|Maker Space|Board Room|Reading Room|Teen Lounge)
  ref branch_id branches
  col capacity int(2,40)
  col has_projector bool opt edit
  status status bookable:5 closed:1
  action close "close {it}" bookable -> closed
  action reopen "reopen {it}" closed -> bookable

table room_bookings room_booking rows 5-12 create
  label booking_code code(RB)
  ref room_id rooms
  ref patron_id patrons
  col starts_at future(14)
  col hours int(1,4)
  col purpose enum(study,tutoring,meeting,interview,club) opt
  status status booked:5 checked_in:2 cancelled:1
  action check_in "check in {it}" booked -> checked_in
  action cancel "cancel {it}" booked -> cancelled

table purchase_requests purchase_request rows 4-10 create
  label request_code code(PR)
  ref patron_id patrons opt
  col requested_title pick(The Midnight Library|Project Hail Mary|Tomorrow and Tomorrow|Braiding Sweetgrass|Demon Copperhead|The Covenant of Water|Lessons in Chemistry|Fourth Wing)
  col format enum(hardcover,paperback,audiobook,ebook)
  col submitted_on pastdate(60)
  status status submitted:3 approved:2 ordered:2 declined:1
  action approve "approve {it}" submitted -> approved
  action decline "decline {it}" submitted,approved -> declined
  action order "mark {it} as ordered" approved -> ordered
