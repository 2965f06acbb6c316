# Education: a university registrar and bursar office.
domain education
about university registrar and bursar: departments, instructors, students and credit limits, courses, sections with open seats, enrolments, assignments, grades, tuition invoices and advising
brand Westbrook University | Carrington College | Lakemont State | Halden Institute | Ashford Polytechnic

table departments department core rows 5-8
  label name pick(Mathematics|Computer Science|Biology|Chemistry|Physics|History|English Literature|Economics|Psychology|Philosophy|Music|Art History|Sociology|Political Science|Linguistics)
  col building pick(Ellison Hall|Marsh Science Center|Kingsley Hall|Porter Library Annex|Weston Building|Harlow Hall|Baxter Center) opt
  col office_phone phone opt
  col chair person opt

table instructors instructor core rows 8-16 create
  label full_name person
  col email email
  ref department_id departments
  col academic_rank enum(lecturer,assistant_professor,associate_professor,professor,adjunct) edit
  col office_hours pick(Mon 10-12|Tue 14-16|Wed 9-11|Thu 13-15|Fri 10-12|By appointment) opt edit
  col tenured bool opt
  status status active:8 on_sabbatical:1 retired:1
  action start_sabbatical "put {it} on sabbatical" active -> on_sabbatical
  action end_sabbatical "mark {it} as back from sabbatical" on_sabbatical -> active
  action retire "record the retirement of {it}" active,on_sabbatical -> retired

table students student core rows 20-34 create
  label full_name person
  col email email
  col student_number code(STU)
  col year_level enum(freshman,sophomore,junior,senior,graduate) edit
  col credit_hours_remaining int(0,21) edit
  col major pick(Undeclared|Biology|Computer Science|Economics|History|Psychology|Mathematics|Chemistry|English) opt edit
  col phone phone opt edit
  col credits_earned int(0,120) opt
  status status enrolled:10 on_probation:2 withdrawn:1 graduated:1
  action place_on_probation "place {it} on academic probation" enrolled -> on_probation
  action lift_probation "lift the academic probation of {it}" on_probation -> enrolled
  action withdraw "withdraw {it} from the university" enrolled,on_probation -> withdrawn

table courses course core rows 8-14 create
  label title combo(Introduction to|Advanced|Foundations of|Topics in|Seminar in|Principles of ; Statistics|Organic Chemistry|Algorithms|Microeconomics|Genetics|Linear Algebra|Cognitive Psychology|Ethics|Thermodynamics|Data Structures|Macroeconomics|Modern European History)
  ref department_id departments
  col course_code code(CRS)
  col credits int(1,5)
  col level enum(intro,intermediate,advanced,graduate)
  col has_lab bool opt
  status status active:8 retired:1
  action retire "retire {it} from the catalogue" active -> retired
  action reinstate "bring {it} back into the catalogue" retired -> active

table sections section core rows 12-24 create
  label section_code code(SEC)
  ref course_id courses
  ref instructor_id instructors
  col term enum(fall,spring,summer)
  col seats_open int(0,40) edit
  col meeting_days enum(mon_wed,tue_thu,mon_wed_fri,friday,online)
  col room pick(Ellison 101|Ellison 214|Marsh 110|Marsh 305|Kingsley 12|Weston 220|Harlow 08|Baxter Auditorium) opt edit
  status status open:6 closed:2 cancelled:1
  action close "close enrolment in {it}" open -> closed
  action reopen "reopen enrolment in {it}" closed -> open
  action cancel "cancel {it}" open,closed -> cancelled

table enrollments enrollment core rows 24-42 create
  label enrollment_code code(ENR)
  ref student_id students consumes credit_hours_remaining by credit_hours
  ref section_id sections
  col credit_hours int(1,5)
  col grading_basis enum(letter,pass_fail,audit) edit
  col enrolled_on pastdate(60)
  status status enrolled:8 waitlisted:2 dropped:1 completed:2
  action drop "drop {it}" enrolled,waitlisted -> dropped
  action admit_from_waitlist "move {it} off the waitlist" waitlisted -> enrolled
  action complete "mark {it} as completed" enrolled -> completed

table tuition_invoices tuition_invoice core rows 10-20 create
  label invoice_number code(TUI)
  ref student_id students
  col term enum(fall,spring,summer)
  col amount_due money(500,18000) edit
  col due_on futuredate(60) edit
  col scholarship_applied money(0,5000) opt
  status status issued:4 partially_paid:2 paid:5 overdue:2 waived:1
  action mark_paid "mark {it} as paid in full" issued,partially_paid,overdue -> paid
  action mark_overdue "mark {it} as overdue" issued,partially_paid -> overdue
  action waive "waive {it}" issued,overdue -> waived

table section_seat_holds seat_hold rows 3-8 create
  label hold_code code(HOLD)
  ref section_id sections consumes seats_open by seats
  col seats int(1,6)
  col reason enum(transfer_students,athletes,honors_program,exchange_students,disability_services)
  col expires_on futuredate(21) edit
  status status active:4 released:2 expired:1
  action release "release {it}" active -> released

table assignments assignment rows 8-18 create delete
  label title combo(Problem Set|Lab Report|Essay|Quiz|Project Milestone|Reading Response ; 1|2|3|4|5|6|7|8)
  ref section_id sections
  col due_at future(30) edit
  col max_points int(10,100)
  col weight_percent int(5,30) opt edit
  status status draft:2 published:5 closed:2
  action publish "publish {it}" draft -> published
  action close "close submissions for {it}" published -> closed
  action reopen "reopen submissions for {it}" closed -> published

table grades grade rows 10-24 create
  label grade_code code(GRD)
  ref enrollment_id enrollments
  col letter enum(grade_a,grade_b,grade_c,grade_d,grade_f,incomplete) edit
  col points int(0,100) opt edit
  status status provisional:4 final:6 disputed:1
  action finalize "finalize {it}" provisional -> final
  action dispute "open a dispute on {it}" final -> disputed
  action resolve_dispute "resolve the dispute on {it}" disputed -> final

table scholarships scholarship rows 3-8 create delete
  label name pick(Deans Merit Award|First Generation Grant|STEM Excellence Scholarship|Community Leadership Award|Arts Talent Scholarship|Alumni Legacy Grant|Global Scholars Award|Riverside Foundation Grant|Presidential Scholarship|Athletics Grant-in-Aid|Transfer Achievement Award|Research Fellows Award|Womens Leadership Grant|Rural Access Scholarship|Pathways Bridge Grant)
  ref student_id students opt
  col annual_amount money(1000,20000) edit
  col renewable bool opt
  status status awarded:4 suspended:1 revoked:1
  action suspend "suspend {it}" awarded -> suspended
  action restore "restore {it}" suspended -> awarded
  action revoke "revoke {it}" awarded,suspended -> revoked

table advising_appointments advising_appointment rows 6-14 create delete
  label booking_code code(ADV)
  ref student_id students
  ref instructor_id instructors
  col scheduled_for future(14) edit
  col mode enum(in_person,video,phone) edit
  col topic pick(Course planning|Declaring a major|Graduation check|Study abroad|Academic probation|Career advice) opt
  status status booked:5 completed:3 cancelled:1 no_show:1
  action cancel "cancel {it}" booked -> cancelled
  action complete "mark {it} as completed" booked -> completed
  action mark_no_show "mark {it} as a no-show" booked -> no_show
